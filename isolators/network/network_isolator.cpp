#include "network_isolator.hpp"

#include "etc_files.hpp"
#include "links.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::network {
namespace {

constexpr const char* kPeerName = "eth0";

void addNetNamespace(v1::LaunchInfo& li, v1::Namespace::Action action, const std::string& path = {}) {
  auto* ns = li.add_namespaces();
  ns->set_type(v1::Namespace::NET);
  ns->set_action(action);
  if (!path.empty()) ns->set_path(path);
}

// Where prepare() wrote a container's /etc files (from its checkpointed
// LaunchInfo), or "" when it did not.
std::string etcDirOf(const v1::ContainerState& state) {
  auto it = state.launch_info().files().find("/etc/hosts");
  if (it == state.launch_info().files().end()) return {};
  const std::string suffix = "/network/hosts";
  const std::string& p = it->second;
  if (p.size() <= suffix.size() || p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return {};
  }
  return p.substr(0, p.size() - std::string("/hosts").size());
}

}  // namespace

NetworkIsolator::NetworkIsolator(Settings settings, std::string scope, std::optional<Ipam> ipam)
    : settings_(std::move(settings)),
      scope_(std::move(scope)),
      ipam_(std::move(ipam)),
      log_(sdk::makeLogger("warren.isolator.network")) {}

Result<std::unique_ptr<NetworkIsolator>> NetworkIsolator::create(const v1::PluginContext& ctx) {
  auto config = sdk::parseConfig<Config>(ctx);
  if (!config) return fail(std::move(config.error()).context("network isolator"));
  std::map<std::string, std::string> flags(ctx.flags().begin(), ctx.flags().end());
  std::vector<std::string> servers(config->nameservers().begin(), config->nameservers().end());
  auto settings =
      resolveSettings(config->bridge(), config->cidr(), config->default_mode(), servers, flags);
  if (!settings) return fail(std::move(settings.error()).context("network isolator"));

  std::string dir = ctx.plugin_work_dir();
  if (dir.empty() && !ctx.work_dir().empty()) dir = ctx.work_dir() + "/network";
  if (dir.empty()) return fail(Code::InvalidArgument, "network isolator: no work dir");
  std::optional<Ipam> ipam;
  if (settings->cidr) {
    if (auto r = fs::mkdirs(dir, 0700); !r) {
      return fail(std::move(r.error()).context("network isolator"));
    }
    ipam.emplace(dir, settings->bridge, *settings->cidr);
  }
  return std::unique_ptr<NetworkIsolator>(
      new NetworkIsolator(std::move(*settings), dir, std::move(ipam)));
}

v1::PluginInfo NetworkIsolator::info() const {
  v1::PluginInfo i;
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  return i;
}

Result<v1::LaunchInfo> NetworkIsolator::prepare(const v1::PrepareRequest& req) {
  std::lock_guard lock(mu_);
  const auto& c = req.container();
  auto plan = planFor(c, settings_);
  if (!plan) return fail(plan.error());
  if (plan->nested) return prepareNested(c);
  return prepareTopLevel(c, plan->mode);
}

Result<v1::LaunchInfo> NetworkIsolator::prepareNested(const v1::ContainerContext& c) {
  const int ppid = c.parent().pid();
  if (ppid <= 0) {
    return fail(Code::FailedPrecondition,
                "container '" + formatId(c.id()) + "': parent '" + formatId(c.parent().id()) +
                    "' has no running init to share a network namespace with");
  }
  v1::LaunchInfo li;
  addNetNamespace(li, v1::Namespace::ENTER, "/proc/" + std::to_string(ppid) + "/ns/net");
  // A nested container with its own root filesystem sees the parent's
  // /etc/hosts, /etc/hostname and /etc/resolv.conf: it shares the network.
  if (!c.rootfs().empty() && c.rootfs() != c.parent().rootfs()) {
    for (const auto& [path, host] : c.parent().launch_info().files()) {
      if (path == "/etc/hosts" || path == "/etc/hostname" || path == "/etc/resolv.conf") {
        (*li.mutable_files())[path] = host;
      }
    }
  }
  log_->debug("container_id={} joins the network namespace of its parent (pid {})",
              formatId(c.id()), ppid);
  return li;
}

// The host name a nested container with a network of its own sees: its
// UTS namespace is its parent's, so the name its parent's /etc/hostname
// holds (else the top-level container's ID).
std::string sharedHostname(const v1::ContainerContext& c) {
  auto it = c.parent().launch_info().files().find("/etc/hostname");
  if (it != c.parent().launch_info().files().end()) {
    if (auto text = fs::readFile(it->second); text) {
      std::string h = *text;
      while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
      if (!h.empty()) return h;
    }
  }
  if (!c.parent().launch_info().hostname().empty()) return c.parent().launch_info().hostname();
  return c.id().path(0);
}

Result<v1::LaunchInfo> NetworkIsolator::prepareTopLevel(const v1::ContainerContext& c, Mode mode) {
  const std::string id = formatId(c.id());
  const std::string hostname = c.id().path_size() > 1 ? sharedHostname(c)
                               : c.config().hostname().empty() ? id
                                                               : c.config().hostname();
  if (c.runtime_dir().empty()) {
    return fail(Code::InvalidArgument, "container '" + id + "': no runtime dir for /etc files");
  }
  v1::LaunchInfo li;
  std::optional<Ipv4> addr;
  if (mode == Mode::Bridge) {
    // Allocate first: an exhausted network fails before anything is made.
    auto a = ipam_->allocate(id);
    if (!a) return fail(std::move(a.error()).context("container '" + id + "'"));
    addr = *a;
  }
  auto undo = [&](Error e) -> Result<v1::LaunchInfo> {
    if (addr) (void)ipam_->release(id);
    return fail(std::move(e).context("container '" + id + "'"));
  };
  if (mode == Mode::Bridge) {
    auto sk = openRoute();
    if (!sk) return undo(sk.error());
    const Cidr& cidr = *settings_.cidr;
    auto br = ensureBridge(sk->get(), settings_.bridge, cidr.gateway(), cidr.prefix);
    if (!br) return undo(br.error());
  }
  const std::string dir = c.runtime_dir() + "/network";
  auto files = writeEtcFiles(dir, mode, hostname, addr, settings_.nameservers);
  if (!files) return undo(files.error());
  if (addr) {
    // Kept beside the /etc files so recover() can rebuild a lost IPAM entry.
    if (auto w = fs::writeFileAtomic(dir + "/address", formatIpv4(*addr) + "\n"); !w) {
      (void)removeEtcFiles(dir);
      return undo(w.error());
    }
  }
  for (const auto& [path, host] : files->files) (*li.mutable_files())[path] = host;
  if (mode != Mode::Host) addNetNamespace(li, v1::Namespace::CREATE);
  log_->info("container_id={} network mode {}{}{}", id, modeName(mode),
             c.id().path_size() > 1 ? " (nested, a namespace of its own)" : "",
             addr ? " address " + formatIpv4(*addr) : std::string());
  return li;
}

Result<void> NetworkIsolator::isolate(const v1::IsolateRequest& req) {
  std::lock_guard lock(mu_);
  const auto& c = req.container();
  const std::string id = formatId(c.id());
  auto plan = planFor(c, settings_);
  if (!plan) return fail(plan.error());
  if (plan->nested || plan->mode == Mode::Host) return {};
  if (req.pid() <= 0) {
    return fail(Code::InvalidArgument, "container '" + id + "': isolate without a pid");
  }
  if (plan->mode == Mode::None) {
    auto sk = openRouteIn(req.pid());
    if (!sk) return fail(std::move(sk.error()).context("container '" + id + "'"));
    auto up = setLinkUp(sk->get(), "lo");
    if (!up) return fail(std::move(up.error()).context("container '" + id + "'"));
    return {};
  }
  auto r = isolateBridge(id, req.pid());
  if (!r) return fail(std::move(r.error()).context("container '" + id + "'"));
  return {};
}

Result<void> NetworkIsolator::isolateBridge(const std::string& id, pid_t pid) {
  auto addr = ipam_->lookup(id);
  if (!addr) return fail(addr.error());
  if (!*addr) return fail(Code::FailedPrecondition, "no address allocated (was prepare called?)");
  const Cidr& cidr = *settings_.cidr;
  WARREN_ASSIGN_OR_RETURN(NlSock host, openRoute());
  WARREN_ASSIGN_OR_RETURN(LinkInfo br,
                          ensureBridge(host.get(), settings_.bridge, cidr.gateway(), cidr.prefix));
  const std::string veth = this->veth(id);
  WARREN_TRY(createVeth(host.get(), veth, br.ifindex, pid, kPeerName));
  auto configured = [&]() -> Result<void> {
    WARREN_ASSIGN_OR_RETURN(NlSock inside, openRouteIn(pid));
    return configureInterface(inside.get(), kPeerName, **addr, cidr.prefix, cidr.gateway());
  }();
  if (!configured) {
    (void)deleteLink(host.get(), veth);
    return configured;
  }
  log_->info("container_id={} veth {} on {}, eth0 {}/{}", id, veth, settings_.bridge,
             formatIpv4(**addr), cidr.prefix);
  return {};
}

Result<v1::ContainerStatus> NetworkIsolator::status(const v1::ContainerRequest& req) {
  std::lock_guard lock(mu_);
  v1::ContainerStatus st;
  *st.mutable_id() = req.id();
  if (!ipam_ || req.id().path_size() == 0) return st;
  // A nested container shares the network of its nearest ancestor with one
  // of its own (a nested "none" one has no address).
  if (req.id().path_size() > 1 && req.has_state() && req.state().config().network_mode() == "none") return st;
  v1::ContainerID owner = req.id();
  while (true) {
    auto addr = ipam_->lookup(formatId(owner));
    if (!addr) return fail(addr.error());
    if (*addr) {
      st.add_ip_addresses(formatIpv4(**addr));
      (*st.mutable_labels())["network.bridge"] = settings_.bridge;
      (*st.mutable_labels())["network.veth"] = veth(formatId(owner));
      return st;
    }
    if (owner.path_size() == 1) return st;
    owner.mutable_path()->RemoveLast();
  }
}

Result<void> NetworkIsolator::cleanup(const v1::ContainerRequest& req) {
  std::lock_guard lock(mu_);
  // A nested container has something of its own only when it asked for a
  // network namespace (its checkpointed config says so); without a state,
  // everything below is looked up and absent things are skipped.
  if (req.id().path_size() > 1 && req.has_state() && req.state().config().network_mode().empty()) return {};
  const std::string id = formatId(req.id());
  Result<void> res;
  auto keep = [&](Result<void> r) {
    if (!r && res) res = fail(std::move(r.error()).context("container '" + id + "'"));
  };
  // The veth goes first (its address must not be reused while it exists).
  // When the container's namespace is already gone the kernel has removed
  // the pair and there is nothing to delete.
  const std::string veth = this->veth(id);
  if (auto sk = openRoute(); !sk) {
    keep(fail(sk.error()));
  } else if (auto found = findLink(sk->get(), veth); !found) {
    keep(fail(found.error()));
  } else if (*found) {  // look first: deleting needs CAP_NET_ADMIN even when absent
    if (auto del = deleteLink(sk->get(), veth); !del) {
      keep(fail(del.error()));
    } else if (*del) {
      log_->info("container_id={} removed veth {}", id, veth);
    }
  }
  if (ipam_ && res) {
    auto freed = ipam_->release(id);
    if (!freed) keep(fail(freed.error()));
    else if (*freed) log_->info("container_id={} released {}", id, formatIpv4(**freed));
  }
  if (req.has_state()) {
    if (std::string dir = etcDirOf(req.state()); !dir.empty()) {
      (void)::unlink((dir + "/address").c_str());
      keep(removeEtcFiles(dir));
    }
  }
  if (!res) log_->error("{}", res.error().message());
  return res;
}

Result<void> NetworkIsolator::recover(const v1::RecoverRequest& req) {
  std::lock_guard lock(mu_);
  std::set<std::string> known, known_veths;
  // Top-level containers, and nested ones with a network of their own.
  auto own = [](const v1::ContainerState& s) {
    return s.id().path_size() == 1 || !s.config().network_mode().empty();
  };
  for (const auto& s : req.containers()) {
    if (!own(s)) continue;
    known.insert(formatId(s.id()));
    known_veths.insert(veth(formatId(s.id())));
  }
  Result<void> res;
  if (ipam_) {
    // Addresses of containers warren no longer knows are freed (their veths
    // are removed below); known containers whose entry was lost get it back
    // from the address file prepare() left beside their /etc files.
    auto freed = ipam_->retain([&](const std::string& owner) { return known.count(owner) > 0; });
    if (!freed) return fail(std::move(freed.error()).context("recover"));
    for (const auto& [owner, a] : *freed) {
      log_->info("container_id={} unknown after recovery: released {}", owner, formatIpv4(a));
    }
    for (const auto& s : req.containers()) {
      std::string dir = own(s) ? etcDirOf(s) : std::string();
      if (dir.empty()) continue;
      auto text = fs::readFile(dir + "/address");
      if (!text) continue;
      std::string t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
      auto a = parseIpv4(t);
      if (!a) continue;
      if (auto r = ipam_->reserve(formatId(s.id()), *a); !r && res) res = fail(r.error());
    }
  }
  if (auto r = removeOrphanVeths(known_veths); !r && res) res = fail(r.error());
  if (!res) return fail(std::move(res.error()).context("recover"));
  return {};
}

// Veths of ours are named wv* and attached to our bridge; one that belongs
// to no known container is an orphan (e.g. made by an isolate() whose launch
// never got checkpointed).
Result<void> NetworkIsolator::removeOrphanVeths(const std::set<std::string>& known_veths) {
  WARREN_ASSIGN_OR_RETURN(NlSock sk, openRoute());
  WARREN_ASSIGN_OR_RETURN(auto br, findLink(sk.get(), settings_.bridge));
  if (!br || br->type != "bridge") return {};
  WARREN_ASSIGN_OR_RETURN(auto links, listLinks(sk.get()));
  Result<void> res;
  for (const auto& l : links) {
    if (l.name.rfind("wv", 0) != 0 || l.type != "veth" || l.master != br->ifindex) continue;
    if (known_veths.count(l.name)) continue;
    auto del = deleteLink(sk.get(), l.name);
    if (!del && res) res = fail(del.error());
    if (del && *del) log_->info("removed orphaned veth {} from {}", l.name, settings_.bridge);
  }
  return res;
}

}  // namespace warren::isolators::network
