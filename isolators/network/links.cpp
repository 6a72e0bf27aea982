#include "links.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>

#include <system_error>
#include <thread>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "warren/sdk/fd.hpp"

namespace warren::isolators::network {
namespace {

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Link = std::unique_ptr<rtnl_link, LinkPut>;
using Addr = std::unique_ptr<rtnl_addr, AddrPut>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrPut>;
using Route = std::unique_ptr<rtnl_route, RoutePut>;
using Cache = std::unique_ptr<nl_cache, CacheFree>;

Error nlError(int err, const std::string& what) {
  int e = err < 0 ? -err : err;
  Code code = Code::Internal;
  switch (e) {
    case NLE_EXIST: code = Code::AlreadyExists; break;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV: code = Code::NotFound; break;
    case NLE_PERM: code = Code::PermissionDenied; break;
    case NLE_INVAL: code = Code::InvalidArgument; break;
    case NLE_BUSY: code = Code::Unavailable; break;
    default: break;
  }
  return Error(code, what + ": " + nl_geterror(e));
}

bool isAbsent(int err) {
  int e = err < 0 ? -err : err;
  return e == NLE_OBJ_NOTFOUND || e == NLE_NODEV;
}

Result<NlAddr> makeAddr(Ipv4 a, int prefix) {
  uint32_t be = htonl(a);
  nl_addr* out = nl_addr_build(AF_INET, &be, sizeof be);
  if (out == nullptr) return fail(Code::Internal, "out of memory building an address");
  nl_addr_set_prefixlen(out, prefix);
  return NlAddr(out);
}

LinkInfo toInfo(rtnl_link* l) {
  LinkInfo i;
  const char* n = rtnl_link_get_name(l);
  i.name = n ? n : "";
  i.ifindex = rtnl_link_get_ifindex(l);
  i.master = rtnl_link_get_master(l);
  const char* t = rtnl_link_get_type(l);
  i.type = t ? t : "";
  i.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
  return i;
}

Result<Link> getLink(nl_sock* sk, const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(sk, 0, name.c_str(), &l);
  if (err < 0) return fail(nlError(err, "look up link '" + name + "'"));
  return Link(l);
}

Result<void> addAddress(nl_sock* sk, int ifindex, Ipv4 a, int prefix, const std::string& link) {
  Addr addr(rtnl_addr_alloc());
  if (!addr) return fail(Code::Internal, "out of memory");
  WARREN_ASSIGN_OR_RETURN(NlAddr local, makeAddr(a, prefix));
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), AF_INET);
  int err = rtnl_addr_set_local(addr.get(), local.get());
  if (err >= 0) err = rtnl_addr_add(sk, addr.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0 && -err != NLE_EXIST && err != NLE_EXIST) {
    return fail(nlError(err, "add address " + formatIpv4(a) + "/" + std::to_string(prefix) +
                                 " to '" + link + "'"));
  }
  return {};
}

}  // namespace

void NlSockFree::operator()(nl_sock* s) const { nl_socket_free(s); }

Result<NlSock> openRoute() {
  NlSock sk(nl_socket_alloc());
  if (!sk) return fail(Code::Internal, "netlink: out of memory");
  int err = nl_connect(sk.get(), NETLINK_ROUTE);
  if (err < 0) return fail(nlError(err, "netlink: connect"));
  return sk;
}

Result<NlSock> openRouteIn(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return failErrno("open '" + path + "'");
  Result<NlSock> out = fail(Code::Internal, "netlink helper thread did not run");
  try {
    // The thread joins the namespace, opens the socket (bound to that
    // namespace for its lifetime) and exits; no thread is ever switched back.
    std::thread helper([&] {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        out = failErrno("setns '" + path + "'");
        return;
      }
      out = openRoute();
    });
    helper.join();
  } catch (const std::system_error& e) {
    return fail(Code::Internal, std::string("start netlink helper thread: ") + e.what());
  }
  return out;
}

Result<std::optional<LinkInfo>> findLink(nl_sock* sk, const std::string& name) {
  auto l = getLink(sk, name);
  if (!l) {
    if (l.error().code() == Code::NotFound) return std::optional<LinkInfo>();
    return fail(l.error());
  }
  return std::optional<LinkInfo>(toInfo(l->get()));
}

Result<std::vector<LinkInfo>> listLinks(nl_sock* sk) {
  nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &raw);
  if (err < 0) return fail(nlError(err, "list links"));
  Cache cache(raw);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    out.push_back(toInfo(reinterpret_cast<rtnl_link*>(o)));
  }
  return out;
}

Result<void> setLinkUp(nl_sock* sk, const std::string& name) {
  WARREN_ASSIGN_OR_RETURN(Link orig, getLink(sk, name));
  Link change(rtnl_link_alloc());
  if (!change) return fail(Code::Internal, "out of memory");
  rtnl_link_set_flags(change.get(), IFF_UP);
  int err = rtnl_link_change(sk, orig.get(), change.get(), 0);
  if (err < 0) return fail(nlError(err, "set link '" + name + "' up"));
  return {};
}

Result<LinkInfo> ensureBridge(nl_sock* sk, const std::string& name, Ipv4 gateway, int prefix) {
  WARREN_ASSIGN_OR_RETURN(auto found, findLink(sk, name));
  bool created = false;
  if (!found) {
    Link br(rtnl_link_bridge_alloc());
    if (!br) return fail(Code::Internal, "out of memory");
    rtnl_link_set_name(br.get(), name.c_str());
    int err = rtnl_link_add(sk, br.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && -err != NLE_EXIST && err != NLE_EXIST) {
      return fail(nlError(err, "create network bridge '" + name + "'"));
    }
    created = err >= 0;
    WARREN_ASSIGN_OR_RETURN(found, findLink(sk, name));
    if (!found) return fail(Code::Internal, "network bridge '" + name + "' vanished after creation");
  }
  if (found->type != "bridge") {
    return fail(Code::FailedPrecondition,
                "network bridge '" + name + "' exists but is not a bridge (it is a " +
                    (found->type.empty() ? std::string("plain device") : "'" + found->type + "' link") +
                    ")");
  }
  auto undo = [&](Error e) -> Result<LinkInfo> {
    if (created) (void)deleteLink(sk, name);
    return fail(std::move(e));
  };
  if (auto r = addAddress(sk, found->ifindex, gateway, prefix, name); !r) return undo(r.error());
  if (auto r = setLinkUp(sk, name); !r) return undo(r.error());
  found->up = true;
  return *found;
}

Result<void> createVeth(nl_sock* sk, const std::string& host_name, int bridge_ifindex, pid_t pid,
                        const std::string& peer_name) {
  Link veth(rtnl_link_veth_alloc());
  if (!veth) return fail(Code::Internal, "out of memory");
  {
    Link peer(rtnl_link_veth_get_peer(veth.get()));
    rtnl_link_set_name(peer.get(), peer_name.c_str());
    rtnl_link_set_ns_pid(peer.get(), pid);
  }
  rtnl_link_set_name(veth.get(), host_name.c_str());
  int err = rtnl_link_add(sk, veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) {
    return fail(nlError(err, "create veth pair '" + host_name + "' (peer '" + peer_name +
                                 "' in the namespace of pid " + std::to_string(pid) + ")"));
  }
  auto undo = [&](Error e) -> Result<void> {
    (void)deleteLink(sk, host_name);
    return fail(std::move(e));
  };
  auto orig = getLink(sk, host_name);
  if (!orig) return undo(orig.error());
  Link change(rtnl_link_alloc());
  if (!change) return undo(Error(Code::Internal, "out of memory"));
  rtnl_link_set_master(change.get(), bridge_ifindex);
  rtnl_link_set_flags(change.get(), IFF_UP);
  err = rtnl_link_change(sk, orig->get(), change.get(), 0);
  if (err < 0) return undo(nlError(err, "attach '" + host_name + "' to the bridge and set it up"));
  return {};
}

Result<void> configureInterface(nl_sock* sk, const std::string& ifname, Ipv4 addr, int prefix,
                                Ipv4 gateway) {
  WARREN_ASSIGN_OR_RETURN(Link link, getLink(sk, ifname));
  const int ifindex = rtnl_link_get_ifindex(link.get());
  WARREN_TRY(addAddress(sk, ifindex, addr, prefix, ifname));
  WARREN_TRY(setLinkUp(sk, ifname));
  WARREN_TRY(setLinkUp(sk, "lo"));

  Route route(rtnl_route_alloc());
  if (!route) return fail(Code::Internal, "out of memory");
  WARREN_ASSIGN_OR_RETURN(NlAddr dst, makeAddr(0, 0));
  WARREN_ASSIGN_OR_RETURN(NlAddr gw, makeAddr(gateway, 32));
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  int err = rtnl_route_set_dst(route.get(), dst.get());
  if (err < 0) return fail(nlError(err, "default route"));
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (nh == nullptr) return fail(Code::Internal, "out of memory");
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  err = rtnl_route_add(sk, route.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0 && -err != NLE_EXIST && err != NLE_EXIST) {
    return fail(nlError(err, "add default route via " + formatIpv4(gateway) + " on '" + ifname + "'"));
  }
  return {};
}

Result<bool> deleteLink(nl_sock* sk, const std::string& name) {
  Link l(rtnl_link_alloc());
  if (!l) return fail(Code::Internal, "out of memory");
  rtnl_link_set_name(l.get(), name.c_str());
  int err = rtnl_link_delete(sk, l.get());
  if (err < 0) {
    if (isAbsent(err)) return false;
    return fail(nlError(err, "delete link '" + name + "'"));
  }
  return true;
}

}  // namespace warren::isolators::network
