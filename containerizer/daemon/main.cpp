// warrend: the warren supervisor and its Mesos v1 agent API on a Unix socket.
//
// Start-up: parse flags, load plugins, listen (answering 503 while
// recovering), recover, start watching every container, announce readiness
// (sd_notify when run by systemd). SIGTERM/SIGINT stop it; containers keep
// running and are adopted by the next start.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api.hpp"
#include "daemon_flags.hpp"
#include "delegation.hpp"
#include "http_server.hpp"
#include "mapping.hpp"
#include "orphans.hpp"
#include "supervisor.hpp"
#include "warren/sdk/fs.hpp"

namespace {

// The sd_notify protocol: one datagram to $NOTIFY_SOCKET (no libsystemd).
void sdNotify(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

std::shared_ptr<spdlog::logger> makeLogger(const warren::daemon::DaemonFlags& f) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("warrend", sink);
  auto level = spdlog::level::from_str(f.global.log_level);
  log->set_level(level);
  if (f.log_format == "json") {
    log->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","message":"%v"})");
  } else {
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  }
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace warren;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "help") == 0) {
      std::fputs(daemon::daemonHelp().c_str(), stdout);
      return 0;
    }
  }
  auto flags = daemon::parseDaemonFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr, "warrend: %s\n", flags.error().message().c_str());
    return 2;
  }
  auto log = makeLogger(*flags);
  spdlog::set_default_logger(log);

  // Signals are taken by this thread only (sigwait below).
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGTERM);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Options opts = flags->global.options;
  // A signal sent through the API makes the container's end KILLED, whatever
  // the command does with it.
  opts.signal_marks_killed = true;
  // The agent socket containers may get: its own directory, so it can be
  // bind-mounted; the volumes isolator is told it may mount it.
  std::string agent_dir = opts.runtime_dir + "/agent";
  auto& allow = opts.plugin_flags["host_path_allowlist"];
  allow = allow.empty() ? agent_dir : allow + "," + agent_dir;

  if (flags->delegated_cgroup) {
    auto h = opts.plugin_flags.find("cgroups_hierarchy");
    std::string hierarchy = h == opts.plugin_flags.end() || h->second.empty() ? "/sys/fs/cgroup" : h->second;
    auto root = daemon::enterDelegatedCgroup(hierarchy, flags->global.cgroups_root_given ? opts.cgroups_root : "");
    if (!root) {
      log->error("{}", root.error().message());
      return 1;
    }
    opts.cgroups_root = *root;
    log->info("delegated cgroup: warrend runs in its supervisor subgroup, containers under {}", *root);
  }
  if (auto r = fs::mkdirs(opts.runtime_dir, 0755); !r) {
    log->error("runtime dir: {}", r.error().message());
    return 1;
  }
  if (auto r = fs::mkdirs(agent_dir, 0755); !r) {
    log->error("agent dir: {}", r.error().message());
    return 1;
  }
  // Plugin events (pull progress) go to SUBSCRIBE streams that ask for them.
  auto events_to = std::make_shared<std::atomic<daemon::Supervisor*>>(nullptr);
  opts.plugin_event_sink = [events_to](const std::string& plugin, const v1::PluginEvent& ev) {
    if (auto* s = events_to->load()) s->publishPluginEvent(plugin, ev);
  };
  auto c = Containerizer::create(opts, log);
  if (!c) {
    log->error("{}", c.error().message());
    return 1;
  }
  daemon::Supervisor sup(**c, log, flags->worker_threads);
  events_to->store(&sup);
  daemon::Api api(**c, sup, log, agent_dir);
  api.setRuntimeDir(opts.runtime_dir);
  daemon::ServerOptions so;
  so.max_body_bytes = flags->max_body_bytes;
  so.max_connections = flags->max_connections;
  so.header_timeout = flags->header_timeout;
  so.body_timeout = flags->body_timeout;
  daemon::HttpServer server(so, api, sup, log);
  for (auto [path, mode] : {std::pair<std::string, mode_t>{flags->api_socket, 0600},
                            {agent_dir + "/" + daemon::kAgentSocketName, 0666}}) {
    if (auto r = server.listen(path, mode); !r) {
      log->error("{}", r.error().message());
      return 1;
    }
  }
  server.start();  // 503 until recovered
  log->info("recovering");
  if (auto r = (*c)->recover(); !r) log->error("{}", r.error().message());
  daemon::killOrphanInits(opts.runtime_dir, *log);
  // Again now and then: an init cloned just before a crash may exec only
  // after the first scan.
  sup.setHousekeeping([&] { daemon::killOrphanInits(opts.runtime_dir, *log); });
  if (auto r = sup.start(); !r) {
    log->error("supervisor: {}", r.error().message());
    return 1;
  }
  api.setReady();
  log->info("serving the agent API on {}", flags->api_socket);
  sdNotify("READY=1");

  int sig = 0;
  sigwait(&stop_set, &sig);
  log->info("stopping on signal {}; containers keep running", sig);
  sdNotify("STOPPING=1");
  server.stop();
  events_to->store(nullptr);
  sup.stop();
  log->flush();
  // Connection threads may still be in calls; all state is on disk.
  std::_Exit(0);
}
