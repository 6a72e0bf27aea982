#include "projects.hpp"

#include <cerrno>
#include <cstdlib>

namespace warren::isolators::disk_xfs {
namespace {

// A decimal uint32 with nothing around it; false otherwise.
bool parseU32(const std::string& s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
  }
  unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (v > 0xFFFFFFFFull) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

Result<ProjectRange> parseProjectRange(const std::string& text) {
  const std::string t = text.empty() ? kDefaultProjectRange : text;
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "invalid config: disk/xfs project_ids '" + t + "': " + why);
  };
  auto dash = t.find('-');
  if (dash == std::string::npos) return bad("expected FIRST-LAST");
  ProjectRange r;
  if (!parseU32(t.substr(0, dash), r.first) || !parseU32(t.substr(dash + 1), r.last)) {
    return bad("expected FIRST-LAST, two decimal numbers");
  }
  if (r.first == 0) return bad("project 0 is the file system's default project");
  if (r.last == 0xFFFFFFFFu) return bad("4294967295 is not a project id");
  if (r.first > r.last) return bad("FIRST is above LAST");
  return r;
}

Result<uint32_t> allocateProject(const std::string& container, const ProjectRange& range, const Held& held) {
  for (const auto& [id, h] : held) {
    if (h.container == container) return id;
  }
  uint64_t want = range.first;
  for (auto it = held.lower_bound(range.first); it != held.end() && it->first <= range.last; ++it) {
    if (it->first != want) break;
    ++want;
  }
  if (want > range.last) {
    return fail(Code::Unavailable, "every XFS project id of " + std::to_string(range.first) + "-" +
                                       std::to_string(range.last) + " is in use (" +
                                       std::to_string(uint64_t{range.last} - range.first + 1) + " containers)");
  }
  return static_cast<uint32_t>(want);
}

std::string formatHolding(const Holding& h) {
  return h.container + " " + std::to_string(h.limit) + "\n" + h.sandbox + "\n";
}

Result<Holding> parseHolding(const std::string& payload) {
  auto nl = payload.find('\n');
  auto sp = payload.find(' ');
  if (nl == std::string::npos || sp == std::string::npos || sp > nl || payload.back() != '\n') {
    return fail(Code::Internal, "malformed project record");
  }
  Holding h;
  h.container = payload.substr(0, sp);
  std::string limit = payload.substr(sp + 1, nl - sp - 1);
  h.sandbox = payload.substr(nl + 1, payload.size() - nl - 2);
  if (h.container.empty() || h.sandbox.empty() || h.sandbox[0] != '/' || limit.empty() ||
      limit.find_first_not_of("0123456789") != std::string::npos || limit.size() > 20) {
    return fail(Code::Internal, "malformed project record");
  }
  h.limit = std::strtoull(limit.c_str(), nullptr, 10);
  return h;
}

uint32_t projectOfRecordName(const std::string& name) {
  uint32_t id = 0;
  return parseU32(name, id) ? id : 0;
}

}  // namespace warren::isolators::disk_xfs
