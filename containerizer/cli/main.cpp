// warren: the embedded CLI. No daemon: state lives on disk like runc's, so a
// container launched by one `warren` process can be waited on, killed or
// destroyed by another.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "flags.hpp"
#include "progress_sink.hpp"

namespace {

const char* kUsage =
    "usage: warren [GLOBAL FLAGS] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run     [OPTIONS] -- CMD [ARGS...]   launch, wait, destroy; exits with the command's code\n"
    "  launch  [OPTIONS] -- CMD [ARGS...]   launch detached; prints the ID\n"
    "  wait ID                              wait; exits with the command's code (128+N for signal N)\n"
    "  kill ID [SIGNAL]                     send a signal (default KILL)\n"
    "  destroy ID                           kill (descendants first), clean up, forget\n"
    "  status ID | usage ID                 one container's status / resource usage\n"
    "  update ID [--cpus N] [--mem SIZE] [--pids N]   change limits of a running container\n"
    "  ps                                   every container, as a tree\n"
    "  plugins                              loaded plugins and load errors\n"
    "  recover                              reconcile after a restart, destroy orphans\n"
    "  group launch --parent ID FILE        launch a task group (JSON spec) all-or-nothing\n"
    "  group wait|kill|destroy PARENT NAME  wait for / signal / destroy every member\n"
    "  images ls | pull REF | prune         the image store (oci:, oci-archive:, docker-archive:, docker://)\n"
    "\n"
    "launch/run options:\n"
    "  --id ID  --parent ID  --rootfs DIR | --image REF  --volume SPEC...\n"
    "  --cpus N  --mem SIZE  --pids N  --network MODE  --share_pid  --debug\n"
    "  --env K=V...  --workdir DIR  --user USER  --hostname NAME\n"
    "  --cap_add CAP...  (added to CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE)\n"
    "  --seccomp default|unconfined|PROFILE.json  (the seccomp isolator's filter)\n"
    "  --gpus N (gpu/nvidia)  --device VENDOR/CLASS=NAME... (devices/cdi)\n";

}  // namespace

int main(int argc, char** argv) {
  warren::cli::GlobalFlags g;
  auto sub = warren::cli::parseGlobal(argc, argv, g);
  if (!sub) {
    std::fprintf(stderr, "warren: %s\n", sub.error().message().c_str());
    return 2;
  }
  if (*sub >= argc || std::string(argv[*sub]) == "help" || std::string(argv[*sub]) == "--help") {
    std::fputs(kUsage, *sub >= argc ? stderr : stdout);
    std::cout << "\n" << warren::cli::globalHelp();
    return *sub >= argc ? 2 : 0;
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_level(spdlog::level::from_str(g.log_level));
  // Image progress lines pass even at the default warn level.
  auto progress = std::make_shared<warren::cli::ProgressSink>();
  auto log = std::make_shared<spdlog::logger>("warren", spdlog::sinks_init_list{sink, progress});
  log->set_level(std::min(spdlog::level::info, spdlog::level::from_str(g.log_level)));
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  spdlog::set_default_logger(log);
  std::vector<std::string> args(argv + *sub + 1, argv + argc);
  return warren::cli::dispatch(argv[*sub], args, g, log);
}
