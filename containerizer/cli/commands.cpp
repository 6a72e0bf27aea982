#include "commands.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <random>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "group.hpp"
#include "volume_spec_bridge.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {

namespace {

int report(const Error& e) {
  std::fprintf(stderr, "warren: %s\n", e.message().c_str());
  switch (e.code()) {
    case Code::InvalidArgument: return 2;
    case Code::NotFound: return 3;
    default: return 1;
  }
}

std::string toJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = false;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

int exitCodeOf(const v1::Termination& t) {
  if (t.has_exit_status()) return t.exit_code();
  if (t.signal() > 0) return 128 + t.signal();
  return 1;
}

std::string randomName() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return std::string(buf, 12);
}

// Reads "--flag value" / "--flag=value" / "--switch" options; stops at "--".
class Args {
 public:
  explicit Args(const std::vector<std::string>& a) : a_(a) {}
  bool done() const { return i_ >= a_.size(); }
  const std::string& peek() const { return a_[i_]; }
  bool isOption() const { return !done() && a_[i_].rfind("--", 0) == 0 && a_[i_] != "--"; }
  std::string next() { return a_[i_++]; }
  // For "--name=value" or "--name value".
  Result<std::string> value(const std::string& opt) {
    auto eq = opt.find('=');
    if (eq != std::string::npos) return opt.substr(eq + 1);
    if (done()) return fail(Code::InvalidArgument, "option " + opt + " needs a value");
    return next();
  }
  static std::string name(const std::string& opt) { return opt.substr(0, opt.find('=')); }
  std::vector<std::string> rest() { return {a_.begin() + static_cast<long>(i_), a_.end()}; }

 private:
  const std::vector<std::string>& a_;
  size_t i_ = 0;
};

struct LaunchSpec {
  v1::ContainerID id;
  v1::ContainerConfig config;
};

Result<LaunchSpec> parseLaunch(const std::vector<std::string>& argv) {
  LaunchSpec s;
  Args a(argv);
  std::string id, parent;
  bool id_given = false;
  auto* res = s.config.mutable_resources();
  while (a.isOption()) {
    std::string opt = a.next();
    std::string n = Args::name(opt);
    if (n == "--share_pid") { s.config.set_share_pid_namespace(true); continue; }
    if (n == "--debug") { s.config.set_container_class(v1::DEBUG); continue; }
    WARREN_ASSIGN_OR_RETURN(std::string v, a.value(opt));
    if (n == "--id") { id = v; id_given = true; }
    else if (n == "--parent") parent = v;
    else if (n == "--rootfs") s.config.set_rootfs(v);
    else if (n == "--image") s.config.set_image(v);
    else if (n == "--network") s.config.set_network_mode(v);
    else if (n == "--hostname") s.config.set_hostname(v);
    else if (n == "--workdir") s.config.set_working_dir(v);
    else if (n == "--user") s.config.set_user(v);
    else if (n == "--cap_add") s.config.add_capabilities(v);
    else if (n == "--seccomp") (*s.config.mutable_isolator_settings())["seccomp.profile"] = v;
    else if (n == "--cpus") { WARREN_ASSIGN_OR_RETURN(double c, parseCpus(v)); res->set_cpus(c); }
    else if (n == "--mem") { WARREN_ASSIGN_OR_RETURN(uint64_t m, parseSize("--mem", v)); res->set_mem_bytes(m); }
    else if (n == "--pids") { WARREN_ASSIGN_OR_RETURN(uint64_t p, parsePositive("--pids", v)); res->set_pids(p); }
    else if (n == "--gpus") {  // whole GPUs, for gpu/nvidia
      WARREN_ASSIGN_OR_RETURN(uint64_t g, parsePositive("--gpus", v));
      if (g > 65536) return fail(Code::InvalidArgument, "invalid --gpus '" + v + "': too many GPUs");
      res->set_gpus(static_cast<uint32_t>(g));
    }
    else if (n == "--device") {  // a CDI device, for devices/cdi
      auto& d = (*s.config.mutable_isolator_settings())["devices/cdi.devices"];
      d += (d.empty() ? "" : ",") + v;
    } else if (n == "--volume") {
      WARREN_ASSIGN_OR_RETURN(auto vol, parseVolumeFlag(v));
      *s.config.add_volumes() = vol;
    } else if (n == "--env") {
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) {
        return fail(Code::InvalidArgument, "invalid --env '" + v + "': expected KEY=VALUE");
      }
      (*s.config.mutable_env())[v.substr(0, eq)] = v.substr(eq + 1);
    } else {
      return fail(Code::InvalidArgument, "unknown option " + n);
    }
  }
  if (!a.done() && a.peek() == "--") a.next();
  auto cmd = a.rest();
  if (!cmd.empty()) {
    s.config.mutable_command()->set_value(cmd[0]);
    for (size_t i = 1; i < cmd.size(); ++i) s.config.mutable_command()->add_arguments(cmd[i]);
  }
  if (id_given && id.empty()) return fail(Code::InvalidArgument, "invalid --id '': empty");
  if (id.empty()) id = randomName();
  std::string full = parent.empty() ? id : parent + "." + id;
  if (!parent.empty()) {
    auto p = parseId(parent);
    if (!p) return fail(Code::InvalidArgument, "invalid --parent: " + p.error().message());
    if (id.find('.') != std::string::npos) {
      return fail(Code::InvalidArgument, "invalid --id '" + id + "' with --parent: give only the child's name");
    }
  }
  WARREN_ASSIGN_OR_RETURN(s.id, parseId(full));
  return s;
}

Result<std::unique_ptr<Containerizer>> make(GlobalFlags& g, std::shared_ptr<spdlog::logger> log) {
  return Containerizer::create(g.options, log);
}

const char* stateName(v1::State s) {
  switch (s) {
    case v1::PROVISIONING: return "PROVISIONING";
    case v1::PREPARING: return "PREPARING";
    case v1::ISOLATING: return "ISOLATING";
    case v1::RUNNING: return "RUNNING";
    case v1::DESTROYING: return "DESTROYING";
    case v1::TERMINATED: return "TERMINATED";
    default: return "UNKNOWN";
  }
}

// `warren run`: launch attached, forward signals, wait, destroy.
int runCommand(Containerizer& c, const LaunchSpec& s, bool json) {
  v1::ContainerConfig cfg = s.config;
  cfg.set_inherit_stdio(true);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  auto launched = c.launch(s.id, cfg);
  if (!launched) return report(launched.error());
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  auto wfd = c.waitFd(s.id);
  if (wfd && sfd >= 0) {
    while (true) {
      pollfd p[2] = {{wfd->get(), POLLIN, 0}, {sfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[0].revents) break;
      if (p[1].revents) {
        signalfd_siginfo si{};
        if (read(sfd, &si, sizeof si) == sizeof si) (void)c.kill(s.id, static_cast<int>(si.ssi_signo));
      }
    }
  }
  auto t = c.wait(s.id);
  auto d = c.destroy(s.id);
  if (!t) return report(t.error());
  if (!d) report(d.error());
  if (json) std::cout << toJson(*t) << "\n";
  if (t->reason() == v1::Termination::COMMAND_NOT_FOUND || t->reason() == v1::Termination::LAUNCH_FAILED) {
    std::fprintf(stderr, "warren: %s\n", t->message().c_str());
  }
  return exitCodeOf(*t);
}

int psCommand(Containerizer& c, bool json) {
  auto list = c.containers();
  if (!list) return report(list.error());
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& ci : *list) {
      nlohmann::json j{{"id", formatId(ci.id)}, {"state", stateName(ci.state)}, {"pid", ci.pid},
                       {"depth", ci.id.path_size()}};
      if (ci.termination) j["termination"] = nlohmann::json::parse(toJson(*ci.termination));
      arr.push_back(j);
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  std::printf("%-40s %-11s %8s  %s\n", "ID", "STATE", "PID", "EXIT");
  for (const auto& ci : *list) {
    std::string name(static_cast<size_t>(2 * (ci.id.path_size() - 1)), ' ');
    name += ci.id.path_size() > 1 ? "└─" + ci.id.path(ci.id.path_size() - 1) : formatId(ci.id);
    std::string exit;
    if (ci.termination) exit = ci.termination->message();
    size_t width = 0;  // display width: UTF-8 continuation bytes take no column
    for (unsigned char ch : name) width += (ch & 0xC0) != 0x80;
    if (width < 40) name.append(40 - width, ' ');
    std::printf("%s %-11s %8d  %s\n", name.c_str(), stateName(ci.state), ci.pid, exit.c_str());
  }
  return 0;
}

int pluginsCommand(Containerizer& c, bool json) {
  auto list = c.plugins();
  auto errors = c.pluginErrors();
  if (json) {
    nlohmann::json j{{"plugins", nlohmann::json::array()}, {"errors", errors}};
    for (const auto& p : list) {
      j["plugins"].push_back({{"name", p.name}, {"short_name", p.short_name}, {"version", p.version},
                              {"kind", p.kind}, {"path", p.path}});
    }
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("%-12s %-20s %-40s %-8s %s\n", "KIND", "SHORT NAME", "NAME", "VERSION", "PATH");
    for (const auto& p : list) {
      std::printf("%-12s %-20s %-40s %-8s %s\n", p.kind.c_str(), p.short_name.c_str(),
                  p.name.c_str(), p.version.c_str(), p.path.c_str());
    }
    for (const auto& e : errors) std::printf("error: %s\n", e.c_str());
  }
  return 0;
}

// `warren images ls|pull REF|prune`. Pull progress arrives as the
// provisioner's log lines (plain lines, one per layer step).
int imagesCommand(Containerizer& c, const std::vector<std::string>& a, bool json,
                  const std::shared_ptr<spdlog::logger>& log) {
  std::string sub = a.empty() ? "ls" : a[0];
  if (sub == "ls") {
    auto l = c.images();
    if (!l) return report(l.error());
    if (json) {
      std::cout << toJson(*l) << "\n";
      return 0;
    }
    std::printf("%-50s %-20s %7s %12s\n", "REFERENCE", "DIGEST", "LAYERS", "SIZE");
    for (const auto& i : l->images()) {
      std::printf("%-50s %-20s %7d %12llu\n", i.reference().c_str(), i.digest().substr(0, 19).c_str(),
                  i.layers(), static_cast<unsigned long long>(i.size_bytes()));
    }
    return 0;
  }
  if (sub == "pull") {
    if (a.size() < 2) return report(Error(Code::InvalidArgument, "usage: warren images pull REF"));
    auto i = c.pullImage(a[1]);
    if (!i) return report(i.error());
    std::cout << (json ? toJson(*i) : i->reference() + " " + i->digest()) << "\n";
    return 0;
  }
  if (sub == "prune") {
    auto r = c.pruneImages();
    if (!r) return report(r.error());
    if (json) {
      std::cout << toJson(*r) << "\n";
    } else {
      for (const auto& x : r->removed()) std::printf("removed %s\n", x.c_str());
      std::printf("freed %llu bytes\n", static_cast<unsigned long long>(r->freed_bytes()));
    }
    return 0;
  }
  return report(Error(Code::InvalidArgument, "unknown images subcommand '" + sub + "' (ls, pull, prune)"));
}

Result<v1::ContainerID> oneId(const std::vector<std::string>& args, const char* cmd) {
  if (args.empty()) return fail(Code::InvalidArgument, std::string(cmd) + " needs a container ID");
  return parseId(args[0]);
}

}  // namespace

int dispatch(const std::string& cmd, const std::vector<std::string>& args, GlobalFlags& g,
             std::shared_ptr<spdlog::logger> log) {
  bool json = g.json;
  std::vector<std::string> a;
  for (const auto& x : args) {
    if (x == "--json") json = true;
    else a.push_back(x);
  }
  static const char* kKnown[] = {"run", "launch", "wait", "kill", "destroy", "status",
                                 "usage", "update", "ps", "plugins", "recover", "group", "images"};
  bool known = false;
  for (const char* k : kKnown) known = known || cmd == k;
  if (!known) return report(Error(Code::InvalidArgument, "unknown command '" + cmd + "' (see warren help)"));

  std::optional<LaunchSpec> spec;
  if (cmd == "run" || cmd == "launch") {
    auto s = parseLaunch(a);
    if (!s) return report(s.error());
    spec = std::move(*s);
  }
  auto made = make(g, log);
  if (!made) return report(made.error());
  Containerizer& c = **made;

  if (cmd == "run") return runCommand(c, *spec, json);
  if (cmd == "launch") {
    auto st = c.launch(spec->id, spec->config);
    if (!st) return report(st.error());
    std::cout << (json ? toJson(*st) : formatId(spec->id)) << "\n";
    return 0;
  }
  if (cmd == "ps") return psCommand(c, json);
  if (cmd == "group") return groupCommand(c, a, json);
  if (cmd == "images") return imagesCommand(c, a, json, log);
  if (cmd == "plugins") return pluginsCommand(c, json);
  if (cmd == "recover") {
    auto r = c.recover();
    return r ? 0 : report(r.error());
  }
  auto id = oneId(a, cmd.c_str());
  if (!id) return report(id.error());
  if (cmd == "wait") {
    auto t = c.wait(*id);
    if (!t) return report(t.error());
    if (json) std::cout << toJson(*t) << "\n";
    return exitCodeOf(*t);
  }
  if (cmd == "kill") {
    int sig = SIGKILL;
    if (a.size() > 1) {
      auto s = parseSignal(a[1]);
      if (!s) return report(s.error());
      sig = *s;
    }
    auto r = c.kill(*id, sig);
    return r ? 0 : report(r.error());
  }
  if (cmd == "destroy") {
    auto t = c.destroy(*id);
    if (!t) return report(t.error());
    if (json) std::cout << toJson(*t) << "\n";
    return 0;
  }
  if (cmd == "status") {
    auto s = c.status(*id);
    if (!s) return report(s.error());
    if (json) {
      std::cout << toJson(*s) << "\n";
    } else {
      std::printf("id: %s\nstate: %s\npid: %d\nhostname: %s\nsandbox: %s\n", formatId(s->id()).c_str(),
                  stateName(s->state()), s->pid(), s->hostname().c_str(), s->sandbox().c_str());
      if (!s->rootfs().empty()) std::printf("rootfs: %s\n", s->rootfs().c_str());
      if (!s->cgroup().empty()) std::printf("cgroup: %s\n", s->cgroup().c_str());
      for (const auto& ip : s->ip_addresses()) std::printf("ip: %s\n", ip.c_str());
    }
    return 0;
  }
  if (cmd == "usage") {
    auto u = c.usage(*id);
    if (!u) return report(u.error());
    std::cout << toJson(*u) << "\n";
    return 0;
  }
  if (cmd == "update") {
    v1::Resources r;
    Args p(a);
    p.next();  // the ID
    while (!p.done()) {
      std::string opt = p.next();
      auto v = p.value(opt);
      if (!v) return report(v.error());
      std::string n = Args::name(opt);
      if (n == "--cpus") {
        auto c2 = parseCpus(*v);
        if (!c2) return report(c2.error());
        r.set_cpus(*c2);
      } else if (n == "--mem") {
        auto m = parseSize("--mem", *v);
        if (!m) return report(m.error());
        r.set_mem_bytes(*m);
      } else if (n == "--pids") {
        auto pp = parsePositive("--pids", *v);
        if (!pp) return report(pp.error());
        r.set_pids(*pp);
      } else {
        return report(Error(Code::InvalidArgument, "unknown option " + n));
      }
    }
    auto u = c.update(*id, r);
    return u ? 0 : report(u.error());
  }
  return 2;
}

}  // namespace warren::cli
