#include "ipam.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <set>
#include <sstream>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::network {
namespace {

constexpr const char* kHeader = "# warren network IPAM v1";

}  // namespace

Ipam::Ipam(std::string dir, std::string name, Cidr cidr)
    : state_path_(dir + "/" + name + ".ipam"), lock_path_(dir + "/" + name + ".lock"), cidr_(cidr) {}

template <typename F>
auto Ipam::locked(F&& f) const -> decltype(f(std::declval<Entries&>(), std::declval<bool&>())) {
  UniqueFd lock(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return failErrno("IPAM: open lock '" + lock_path_ + "'");
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("IPAM: lock '" + lock_path_ + "'");
  }
  auto entries = load();
  if (!entries) return fail(entries.error());
  bool dirty = false;
  auto out = f(*entries, dirty);
  if (out && dirty) {
    auto saved = save(*entries);
    if (!saved) return fail(saved.error());
  }
  return out;  // the lock is released when `lock` closes
}

Result<Ipam::Entries> Ipam::load() const {
  Entries out;
  if (!fs::exists(state_path_)) return out;
  auto text = fs::readFile(state_path_);
  if (!text) return fail(std::move(text.error()).context("IPAM"));
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  std::set<Ipv4> used;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string a, b, extra;
    ls >> a >> b >> extra;
    auto bad = [&](const std::string& why) {
      return fail(Code::Internal, "IPAM state '" + state_path_ + "' line " + std::to_string(n) +
                                      " is malformed: " + why);
    };
    if (a.empty() || b.empty() || !extra.empty()) return bad("expected two fields");
    if (a == "cidr") continue;  // informational; entries are checked against the current CIDR
    auto addr = parseIpv4(a);
    if (!addr) return bad(addr.error().message());
    // An address outside the current network (the CIDR was changed) is
    // dropped on the next write.
    if (!cidr_.contains(*addr)) continue;
    if (!used.insert(*addr).second || out.count(b)) return bad("duplicate entry");
    out[b] = *addr;
  }
  return out;
}

Result<void> Ipam::save(const Entries& e) const {
  std::string text = std::string(kHeader) + "\ncidr " + cidr_.str() + "\n";
  for (const auto& [owner, addr] : e) text += formatIpv4(addr) + " " + owner + "\n";
  auto r = fs::writeFileAtomic(state_path_, text);
  if (!r) return fail(std::move(r.error()).context("IPAM: save"));
  return {};
}

Result<Ipv4> Ipam::allocate(const std::string& owner) {
  return locked([&](Entries& e, bool& dirty) -> Result<Ipv4> {
    if (auto it = e.find(owner); it != e.end()) return it->second;
    std::set<Ipv4> used;
    for (const auto& [_, a] : e) used.insert(a);
    for (Ipv4 a = cidr_.firstHost(); a <= cidr_.lastHost(); ++a) {
      if (used.count(a)) continue;
      e[owner] = a;
      dirty = true;
      return a;
    }
    return fail(Code::FailedPrecondition,
                "network " + cidr_.str() + " is exhausted: all " +
                    std::to_string(cidr_.lastHost() - cidr_.firstHost() + 1) +
                    " container addresses are in use");
  });
}

Result<void> Ipam::reserve(const std::string& owner, Ipv4 addr) {
  return locked([&](Entries& e, bool& dirty) -> Result<void> {
    if (!cidr_.contains(addr) || addr < cidr_.firstHost() || addr > cidr_.lastHost()) {
      return fail(Code::InvalidArgument, "IPAM: " + formatIpv4(addr) + " of '" + owner +
                                             "' is not a container address of " + cidr_.str());
    }
    for (const auto& [o, a] : e) {
      if (a == addr && o != owner) {
        return fail(Code::AlreadyExists,
                    "IPAM: " + formatIpv4(addr) + " of '" + owner + "' is held by '" + o + "'");
      }
    }
    if (e.count(owner) && e[owner] == addr) return {};
    e[owner] = addr;
    dirty = true;
    return {};
  });
}

Result<std::optional<Ipv4>> Ipam::release(const std::string& owner) {
  return locked([&](Entries& e, bool& dirty) -> Result<std::optional<Ipv4>> {
    auto it = e.find(owner);
    if (it == e.end()) return std::optional<Ipv4>();
    Ipv4 a = it->second;
    e.erase(it);
    dirty = true;
    return std::optional<Ipv4>(a);
  });
}

Result<std::optional<Ipv4>> Ipam::lookup(const std::string& owner) const {
  return locked([&](Entries& e, bool&) -> Result<std::optional<Ipv4>> {
    auto it = e.find(owner);
    if (it == e.end()) return std::optional<Ipv4>();
    return std::optional<Ipv4>(it->second);
  });
}

Result<Ipam::Entries> Ipam::entries() const {
  return locked([&](Entries& e, bool&) -> Result<Entries> { return e; });
}

Result<Ipam::Entries> Ipam::retain(const std::function<bool(const std::string&)>& keep) {
  return locked([&](Entries& e, bool& dirty) -> Result<Entries> {
    Entries freed;
    for (auto it = e.begin(); it != e.end();) {
      if (keep(it->first)) {
        ++it;
        continue;
      }
      freed.insert(*it);
      it = e.erase(it);
      dirty = true;
    }
    return freed;
  });
}

}  // namespace warren::isolators::network
