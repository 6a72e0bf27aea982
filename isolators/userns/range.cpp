#include "range.hpp"

#include <charconv>

namespace warren::isolators::userns {
namespace {

constexpr uint64_t kIdLimit = 4294967295ull;  // (uid_t)-1 is not an id

bool parseU32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<Range> parseRange(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "--userns_range '" + text + "': " + why);
  };
  auto colon = text.find(':');
  Range r;
  if (colon == std::string::npos || !parseU32(std::string_view(text).substr(0, colon), &r.start) ||
      !parseU32(std::string_view(text).substr(colon + 1), &r.count)) {
    return bad("expected START:COUNT (host ids, decimal)");
  }
  if (r.start == 0) return bad("START must be above 0 (the host's root is never mapped)");
  if (r.count == 0) return bad("COUNT must be at least 1");
  if (uint64_t{r.start} + r.count > kIdLimit) return bad("the range ends past 4294967294");
  return r;
}

Result<uint32_t> parseSize(const std::string& text) {
  uint32_t n = 0;
  if (!parseU32(text, &n) || n == 0 || n >= kIdLimit) {
    return fail(Code::InvalidArgument, "--userns_size '" + text + "': expected a number of ids, 1 to 4294967294");
  }
  return n;
}

Result<Range> allocate(const std::string& cid, const Range& range, uint32_t size, const Allocations& held) {
  auto mine = held.find(cid);
  if (mine != held.end()) return mine->second;
  if (size > range.count) {
    return fail(Code::InvalidArgument, "--userns_size " + std::to_string(size) + " is larger than --userns_range " +
                                           std::to_string(range.start) + ":" + std::to_string(range.count));
  }
  const uint64_t end = uint64_t{range.start} + range.count;
  for (uint64_t s = range.start; s + size <= end; s += size) {
    bool free = true;
    for (const auto& [other, r] : held) {
      if (s < uint64_t{r.start} + r.count && r.start < s + size) free = false;
    }
    if (free) return Range{static_cast<uint32_t>(s), size};
  }
  std::string holders;
  size_t n = 0;
  for (const auto& [other, r] : held) {
    if (++n > 4) {
      holders += ", ...";
      break;
    }
    holders += (holders.empty() ? "" : ", ") + other;
  }
  return fail(Code::Unavailable, "container '" + cid + "': no free range of " + std::to_string(size) +
                                     " ids left in --userns_range " + std::to_string(range.start) + ":" +
                                     std::to_string(range.count) + " (" + std::to_string(held.size()) +
                                     " held: " + holders + ")");
}

std::string formatRecord(const Range& r) {
  return std::to_string(r.start) + " " + std::to_string(r.count) + "\n";
}

Result<Range> parseRecord(const std::string& payload) {
  auto sp = payload.find(' ');
  Range r;
  if (sp == std::string::npos || payload.empty() || payload.back() != '\n' ||
      !parseU32(std::string_view(payload).substr(0, sp), &r.start) ||
      !parseU32(std::string_view(payload).substr(sp + 1, payload.size() - sp - 2), &r.count) || r.count == 0) {
    return fail(Code::Internal, "malformed id range record '" + payload + "'");
  }
  return r;
}

}  // namespace warren::isolators::userns
