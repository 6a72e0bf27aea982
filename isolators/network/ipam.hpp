// A small IPv4 address allocator for the bridge mode, persisted as a text
// file under the plugin's work dir so that it survives restarts:
//
//   # warren network IPAM v1
//   cidr 10.213.0.0/24
//   10.213.0.2 web
//
// Every operation takes an exclusive flock on a lock file beside the state,
// loads, changes and writes the state back atomically (temp + fsync +
// rename), so several warren processes sharing a work dir (the embedded CLI)
// never hand out one address twice. The lowest free address is chosen, so a
// released address is the next one reused.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cidr.hpp"
#include "warren/sdk/result.hpp"

namespace warren::isolators::network {

class Ipam {
 public:
  using Entries = std::map<std::string, Ipv4>;  // owner (container ID) -> address

  // State lives in <dir>/<name>.ipam (and <name>.lock); dir must exist.
  Ipam(std::string dir, std::string name, Cidr cidr);

  const Cidr& cidr() const { return cidr_; }
  const std::string& statePath() const { return state_path_; }

  // The owner's address, allocating the lowest free one when it has none.
  // Exhaustion is a FailedPrecondition naming the CIDR; nothing changes.
  Result<Ipv4> allocate(const std::string& owner);
  // Record a known owner's address (recovery); an address held by another
  // owner is an error.
  Result<void> reserve(const std::string& owner, Ipv4 addr);
  // Free the owner's address; returns it (nullopt when it had none).
  Result<std::optional<Ipv4>> release(const std::string& owner);
  Result<std::optional<Ipv4>> lookup(const std::string& owner) const;
  Result<Entries> entries() const;
  // Release every owner for which keep() is false; returns what was freed.
  Result<Entries> retain(const std::function<bool(const std::string&)>& keep);

 private:
  template <typename F>
  auto locked(F&& f) const -> decltype(f(std::declval<Entries&>(), std::declval<bool&>()));
  Result<Entries> load() const;
  Result<void> save(const Entries& e) const;

  std::string state_path_;
  std::string lock_path_;
  Cidr cidr_;
};

}  // namespace warren::isolators::network
