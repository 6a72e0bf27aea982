// Link, address and route work for the network isolator, all through libnl
// (rtnetlink). A socket opened with openRouteIn(pid) lives in that process's
// network namespace: it is created by a short-lived helper thread that joins
// the namespace and exits, so the caller's (multi-threaded) thread never
// changes namespace.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cidr.hpp"
#include "warren/sdk/result.hpp"

struct nl_sock;

namespace warren::isolators::network {

struct NlSockFree {
  void operator()(nl_sock* s) const;
};
using NlSock = std::unique_ptr<nl_sock, NlSockFree>;

// A NETLINK_ROUTE socket in the caller's network namespace.
Result<NlSock> openRoute();
// A NETLINK_ROUTE socket in the network namespace of `pid`.
Result<NlSock> openRouteIn(pid_t pid);

struct LinkInfo {
  std::string name;
  int ifindex = 0;
  int master = 0;     // ifindex of the bridge it is attached to (0: none)
  std::string type;   // "bridge", "veth", ... ("" for plain devices)
  bool up = false;
};

Result<std::optional<LinkInfo>> findLink(nl_sock* sk, const std::string& name);
Result<std::vector<LinkInfo>> listLinks(nl_sock* sk);

// The bridge `name`, created if absent, with `gateway`/`prefix` on it and up.
// A link of that name that is not a bridge is an error. A bridge this call
// created is removed again when a later step fails.
Result<LinkInfo> ensureBridge(nl_sock* sk, const std::string& name, Ipv4 gateway, int prefix);

// A veth pair: `host_name` attached to `bridge_ifindex` and up in the
// caller's namespace, its peer created directly in the network namespace of
// `pid` as `peer_name`. Nothing remains when it fails.
Result<void> createVeth(nl_sock* sk, const std::string& host_name, int bridge_ifindex, pid_t pid,
                        const std::string& peer_name);

// Inside a container's namespace (sk from openRouteIn): `ifname` gets
// addr/prefix and goes up, lo goes up, and the default route points at the
// gateway.
Result<void> configureInterface(nl_sock* sk, const std::string& ifname, Ipv4 addr, int prefix,
                                Ipv4 gateway);
Result<void> setLinkUp(nl_sock* sk, const std::string& name);

// Delete a link by name; false when there was none.
Result<bool> deleteLink(nl_sock* sk, const std::string& name);

}  // namespace warren::isolators::network
