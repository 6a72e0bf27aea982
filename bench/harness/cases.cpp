#include "cases.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>
#include <utility>

#include "bundle.hpp"

namespace bench {

namespace {

using Step = std::function<Run()>;

double nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void record(Series& s, const Run& r) {
  if (r.ok()) {
    s.values.push_back(r.ms);
    if (r.maxrss_kb > 0) s.peak_rss_kb.push_back(static_cast<double>(r.maxrss_kb));
  } else {
    ++s.failures;
    s.last_error = "exit " + std::to_string(r.status) + ": " + r.err.substr(0, r.err.find('\n'));
  }
}

// Round-robin over (runtime, step), rotating the start each round.
void interleave(Ctx& c, const std::string& case_name, std::vector<std::pair<std::string, Step>> steps,
                int rounds) {
  for (auto& [name, step] : steps) c.report.series(case_name, name);
  size_t n = steps.size();
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < n; ++k) {
      auto& [name, step] = steps[(k + static_cast<size_t>(r)) % n];
      record(c.report.series(case_name, name), step());
    }
  }
  std::fprintf(stderr, "  %s: %d rounds done\n", case_name.c_str(), rounds);
}

std::string say(const std::string& what, const Run& r) {
  return what + " failed (exit " + std::to_string(r.status) + "): " + r.err.substr(0, 300);
}


// One client process: LAUNCH (nested when parent is set), WAIT, REMOVE of
// /bin/true; pipelined on one connection, or (separate) one connection per
// call, each made after the previous answer; `debug`: a DEBUG container.
Run warrendRun(Ctx& c, const std::string& parent, const std::string& rootfs, bool pipelined = true,
               bool debug = false) {
  static int n = 0;
  std::string name = "wd" + std::to_string(++n);
  std::string id = "{\"value\":\"" + name + "\"" +
                   (parent.empty() ? "" : ",\"parent\":{\"value\":\"" + parent + "\"}") + "}";
  std::string nested = parent.empty() ? "" : "_NESTED";
  std::string lower = parent.empty() ? "" : "_nested";
  std::string launch = "{\"type\":\"LAUNCH" + nested + "_CONTAINER\",\"launch" + lower +
                       "_container\":{\"container_id\":" + id +
                       ",\"command\":{\"shell\":false,\"value\":\"/bin/true\",\"arguments\":[\"true\"]}" +
                       (rootfs.empty() ? "" : ",\"warren\":{\"config\":{\"rootfs\":\"" + rootfs + "\"}}") +
                       (debug ? ",\"warren\":{\"config\":{\"container_class\":\"DEBUG\"}}" : "") + "}}";
  std::string wait = "{\"type\":\"WAIT" + nested + "_CONTAINER\",\"wait" + lower + "_container\":{\"container_id\":" +
                     id + "}}";
  std::string remove = "{\"type\":\"REMOVE" + nested + "_CONTAINER\",\"remove" + lower +
                       "_container\":{\"container_id\":" + id + "}}";
  if (!pipelined) return spawn({c.agent_bin, "--socket", c.warrend_socket, launch, wait, remove});
  return spawn({c.agent_bin, "--socket", c.warrend_socket, "--pipeline", launch, wait, remove});
}

}  // namespace

Run Embedded::call(const std::string& what) {
  Run r;
  if (pid <= 0) {
    r.err = error.empty() ? "not running" : error;
    return r;
  }
  std::string line = what + "\n";
  double t0 = nowMs();
  if (write(to, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    r.err = "write to the embedded server failed";
    return r;
  }
  std::string answer;
  char ch;
  while (read(from, &ch, 1) == 1 && ch != '\n') answer += ch;
  r.ms = nowMs() - t0;
  r.status = answer == "ok" ? 0 : 1;
  if (!r.ok()) r.err = answer.empty() ? "the embedded server is gone" : answer;
  return r;
}

void Embedded::stop() {
  if (pid <= 0) return;
  (void)!write(to, "quit\n", 5);
  close(to);
  close(from);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

Embedded* startEmbedded(const std::string& bin, const std::string& rootfs, const std::string& plugin_dir,
                        const std::string& init) {
  auto* e = new Embedded;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    e->error = "pipe";
    return e;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(bin.c_str(), bin.c_str(), "--serve", rootfs.c_str(), plugin_dir.c_str(), init.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  e->pid = pid;
  e->to = in[1];
  e->from = out[0];
  std::string ready;
  char ch;
  while (read(e->from, &ch, 1) == 1 && ch != '\n') ready += ch;
  if (ready != "ready") {
    e->error = "embedded server: " + (ready.empty() ? std::string("exited") : ready);
    e->stop();
  }
  return e;
}

std::string makeBundle(Ctx& c, const std::string& name, const BundleSpec& spec) {
  std::string dir = c.scratch + "/" + name;
  std::string cmd = "mkdir -p '" + dir + "' && cp -a '" + c.rootfs + "' '" + dir + "/rootfs'";
  if (std::system(cmd.c_str()) != 0) return "cannot copy the rootfs to " + dir;
  return writeConfig(dir, spec);
}

void caseTopLevel(Ctx& c) {
  const std::string cs = "top-level launch+exit of true";
  std::vector<std::pair<std::string, Step>> steps;
  std::string t = c.rootfs + "/bin/true";
  steps.push_back({"fork+exec static true", [t] { return spawn({t}); }});
  steps.push_back({"unshare 5 ns + chroot", [&c] {
                     return spawn({"/usr/bin/unshare", "--pid", "--net", "--ipc", "--uts", "--mount", "--fork",
                                   "/usr/sbin/chroot", c.rootfs, "/bin/true"});
                   }});
  if (c.have_crun && makeBundle(c, "crun-top", {{"/bin/true"}, std::string(kCgroupRoot) + "/crun-top", 0}).empty()) {
    steps.push_back({"crun", [&c] { return c.crun.exec({"run", "--bundle", c.scratch + "/crun-top", "wb-top"}); }});
  }
  if (c.have_runc && makeBundle(c, "runc-top", {{"/bin/true"}, std::string(kCgroupRoot) + "/runc-top", 0}).empty()) {
    steps.push_back({"runc", [&c] { return c.runc.exec({"run", "--bundle", c.scratch + "/runc-top", "wb-top"}); }});
  }
  if (c.have_warren) {
    steps.push_back({"warren", [&c] { return c.warren.exec({"run", "--rootfs", c.rootfs, "--", "/bin/true"}); }});
  }
  if (c.have_warrend) {
    steps.push_back({"warrend", [&c] { return warrendRun(c, "", c.rootfs); }});
    steps.push_back({"warrend, 3 connections", [&c] { return warrendRun(c, "", c.rootfs, false); }});
  }
  if (c.have_warrend_cli) {
    steps.push_back({"warren -> warrend", [&c] {
                       return c.warrend_cli.exec({"run", "--rootfs", c.rootfs, "--", "/bin/true"});
                     }});
  }
  if (c.embedded && c.embedded->pid > 0) {
    steps.push_back({"embedded", [&c] { return c.embedded->call("top"); }});
  }
  interleave(c, cs, std::move(steps), c.rounds);
  c.report.target({cs, "warren", "crun", 0.7});
  if (c.have_warrend) {
    c.report.series(cs, "warrend").note =
        "a warren-agent process, one connection: LAUNCH_CONTAINER, WAIT_CONTAINER, REMOVE_CONTAINER pipelined";
    c.report.series(cs, "warrend, 3 connections").note = "the same calls, one connection each, each after the answer";
    c.report.target({cs, "warrend", "crun", 0.7});
  }
  if (c.have_warrend_cli) {
    c.report.series(cs, "warren -> warrend").note = "`warren --daemon=always run --rootfs R -- /bin/true`";
    c.report.target({cs, "warren -> warrend", "crun", 0.7});
  }
  if (c.embedded && c.embedded->pid > 0) {
    c.report.series(cs, "embedded").note = "libwarren in one process: launch, wait, destroy (timed by request/answer)";
    c.report.target({cs, "embedded", "crun", 0.7});
  }
}

void caseNested(Ctx& c) {
  const std::string cs = "nested launch+exit of true";
  std::vector<std::pair<std::string, Step>> steps;
  std::vector<std::function<void()>> teardown;
  if (c.have_crun) {
    std::string e = makeBundle(c, "crun-parent", {{"/bin/sleep", "100000"}, std::string(kCgroupRoot) + "/crun-parent", 0});
    Run r = c.crun.exec({"run", "--detach", "--bundle", c.scratch + "/crun-parent", "wb-parent"});
    int pid = r.ok() ? c.crun.pidOf("wb-parent") : 0;
    teardown.push_back([&c] { c.crun.exec({"delete", "--force", "wb-parent"}); });
    if (pid > 0) {
      steps.push_back({"crun exec", [&c] { return c.crun.exec({"exec", "wb-parent", "/bin/true"}); }});
      if (makeBundle(c, "crun-join", {{"/bin/true"}, std::string(kCgroupRoot) + "/crun-join", pid}).empty()) {
        steps.push_back({"crun run joining ns", [&c] {
                           return c.crun.exec({"run", "--bundle", c.scratch + "/crun-join", "wb-join"});
                         }});
      }
    } else {
      c.report.series(cs, "crun exec").note = say("crun run --detach", r) + e;
    }
  }
  if (c.have_runc) {
    makeBundle(c, "runc-parent", {{"/bin/sleep", "100000"}, std::string(kCgroupRoot) + "/runc-parent", 0});
    Run r = c.runc.exec({"run", "--detach", "--bundle", c.scratch + "/runc-parent", "wb-parent"});
    teardown.push_back([&c] { c.runc.exec({"delete", "--force", "wb-parent"}); });
    if (r.ok()) steps.push_back({"runc exec", [&c] { return c.runc.exec({"exec", "wb-parent", "/bin/true"}); }});
  }
  if (c.have_warren) {
    Run r = c.warren.exec({"launch", "--id", "wbparent", "--rootfs", c.rootfs, "--", "/bin/sleep", "100000"});
    teardown.push_back([&c] { c.warren.exec({"destroy", "wbparent"}); });
    if (r.ok()) {
      steps.push_back({"warren", [&c] { return c.warren.exec({"run", "--parent", "wbparent", "--", "/bin/true"}); }});
      // `warren exec`: a DEBUG container in the parent's namespaces whose
      // output is attached (issue #15) - the peer of `crun exec`.
      steps.push_back({"warren exec", [&c] { return c.warren.exec({"exec", "wbparent", "--", "/bin/true"}); }});
    } else {
      c.report.series(cs, "warren").note = say("warren launch of the parent", r);
    }
  }
  if (c.have_warrend) {
    std::string parent = "{\"type\":\"LAUNCH_CONTAINER\",\"launch_container\":{\"container_id\":{\"value\":"
                         "\"wdparent\"},\"command\":{\"value\":\"sleep 100000\"},\"warren\":{\"config\":"
                         "{\"rootfs\":\"" + c.rootfs + "\"}}}}";
    Run r = spawn({c.agent_bin, "--socket", c.warrend_socket, parent});
    teardown.push_back([&c] {
      spawn({c.agent_bin, "--socket", c.warrend_socket,
             "{\"type\":\"KILL_CONTAINER\",\"kill_container\":{\"container_id\":{\"value\":\"wdparent\"}}}",
             "{\"type\":\"WAIT_CONTAINER\",\"wait_container\":{\"container_id\":{\"value\":\"wdparent\"}}}",
             "{\"type\":\"REMOVE_CONTAINER\",\"remove_container\":{\"container_id\":{\"value\":\"wdparent\"}}}"});
    });
    if (r.ok()) {
      steps.push_back({"warrend", [&c] { return warrendRun(c, "wdparent", ""); }});
      steps.push_back({"warrend exec", [&c] { return warrendRun(c, "wdparent", "", true, true); }});
      if (c.have_warrend_cli) {
        steps.push_back({"warren exec -> warrend", [&c] {
                           return c.warrend_cli.exec({"exec", "wdparent", "--", "/bin/true"});
                         }});
      }
    } else {
      c.report.series(cs, "warrend").note = say("warrend launch of the parent", r);
    }
  }
  if (c.embedded && c.embedded->pid > 0) {
    steps.push_back({"embedded", [&c] { return c.embedded->call("nested"); }});
    steps.push_back({"embedded exec", [&c] { return c.embedded->call("exec"); }});
  }
  // Name the reference "crun" so ratios read against crun exec.
  std::vector<std::pair<std::string, Step>> named;
  for (auto& [n, s] : steps) named.push_back({n == "crun exec" ? "crun" : n, std::move(s)});
  interleave(c, cs, std::move(named), c.rounds);
  c.report.series(cs, "crun").note = "`crun exec` into a running container";
  for (auto& t : teardown) t();
  c.report.target({cs, "warren", "crun", 0.5});
  if (c.have_warren) {
    c.report.series(cs, "warren exec").note = "`warren exec P -- /bin/true`: a DEBUG container, output attached";
    c.report.target({cs, "warren exec", "crun", 0.5});
  }
  if (c.have_warrend) {
    c.report.series(cs, "warrend").note =
        "a warren-agent process, one connection: LAUNCH_NESTED_CONTAINER, WAIT_NESTED_CONTAINER, "
        "REMOVE_NESTED_CONTAINER pipelined";
    c.report.series(cs, "warrend exec").note = "the same with a DEBUG container (what `warren exec` launches)";
    c.report.target({cs, "warrend", "crun", 0.5});
    c.report.target({cs, "warrend exec", "crun", 0.5});
  }
  if (c.have_warrend_cli) {
    c.report.series(cs, "warren exec -> warrend").note = "`warren --daemon=always exec P -- /bin/true`";
    c.report.target({cs, "warren exec -> warrend", "crun", 0.5});
  }
  if (c.embedded && c.embedded->pid > 0) {
    c.report.series(cs, "embedded").note = "libwarren in one process: nested launch, wait, destroy";
    c.report.series(cs, "embedded exec").note = "libwarren in one process: a DEBUG container, launch, wait, destroy";
    c.report.target({cs, "embedded", "crun", 0.5});
    c.report.target({cs, "embedded exec", "crun", 0.5});
  }
}

void caseGroups(Ctx& c) {
  const std::string base = "task group of N members, launch to all running";
  if (!c.have_warren || c.warren.help().find("group") == std::string::npos) {
    c.report.pending(base, "the warren CLI has no `group launch` command in this build");
    return;
  }
  Run r = c.warren.exec({"launch", "--id", "wbgroup", "--rootfs", c.rootfs, "--", "/bin/sleep", "100000"});
  if (!r.ok()) {
    c.report.pending(base, say("launch of the group's parent", r));
    return;
  }
  std::vector<std::string> crun_made;
  for (int n : {1, 4, 16, 32}) {
    const std::string cs = "task group of " + std::to_string(n) + ", launch to all running";
    std::string spec = c.scratch + "/group" + std::to_string(n) + ".json";
    std::string j = "{\"name\":\"g" + std::to_string(n) + "\",\"policy\":\"kill_group\",\"members\":[";
    for (int i = 0; i < n; ++i) {
      j += std::string(i ? "," : "") + "{\"name\":\"m" + std::to_string(i) +
           "\",\"config\":{\"command\":{\"value\":\"/bin/sleep\",\"arguments\":[\"100000\"]}}}";
    }
    writeFile(spec, j + "]}\n");
    std::vector<std::pair<std::string, Step>> steps;
    // Each step launches and (untimed) tears down, so rounds stay independent.
    steps.push_back({"warren", [&c, spec, n] {
                       Run g = c.warren.exec({"group", "launch", "--parent", "wbgroup", spec});
                       c.warren.exec({"group", "destroy", "wbgroup", "g" + std::to_string(n)});
                       return g;
                     }});
    if (c.have_crun) {
      for (int i = static_cast<int>(crun_made.size()); i < n; ++i) {
        std::string id = "wbg" + std::to_string(i);
        makeBundle(c, id, {{"/bin/sleep", "100000"}, std::string(kCgroupRoot) + "/" + id, 0});
        crun_made.push_back(id);
      }
      steps.push_back({"crun", [&c, n] {
                         Run total;
                         total.status = 0;
                         for (int i = 0; i < n && total.ok(); ++i) {
                           std::string id = "wbg" + std::to_string(i);
                           Run one = c.crun.exec({"run", "--detach", "--bundle", c.scratch + "/" + id, id});
                           total.ms += one.ms;
                           total.maxrss_kb = std::max(total.maxrss_kb, one.maxrss_kb);
                           if (!one.ok()) total = one;
                         }
                         for (int i = 0; i < n; ++i) c.crun.exec({"delete", "--force", "wbg" + std::to_string(i)});
                         return total;
                       }});
    }
    interleave(c, cs, std::move(steps), std::max(3, c.rounds / 5));
    c.report.series(cs, "crun").note = std::to_string(n) + " x `crun run --detach`, one by one";
    if (n == 16) {
      Target t{cs, "warren", "warren", 4};
      t.ref_case = "task group of 1, launch to all running";
      t.label = "task group of 16 vs one launch (group of 1)";
      c.report.target(t);
    }
  }
  c.warren.exec({"destroy", "wbgroup"});
}

void caseChain(Ctx& c) {
  if (!c.have_warren) return;
  const std::string cs = "32-deep chain (launch all, then destroy)";
  auto& launch = c.report.series(cs, "warren launch x32");
  auto& destroy = c.report.series(cs, "warren destroy (32 levels)");
  for (int round = 0; round < c.chain_rounds; ++round) {
    double t0 = nowMs();
    std::string path;
    bool ok = true;
    for (int level = 0; level < 32 && ok; ++level) {
      // Short names: a 32-level ID stays under NAME_MAX (longer ones hit
      // ENAMETOOLONG in the filesystem isolator's state file; see README).
      std::string name = level == 0 ? "wbchain" : "l" + std::to_string(level);
      std::vector<std::string> a{"launch", "--id", name};
      if (path.empty()) a.insert(a.end(), {"--rootfs", c.rootfs});
      else a.insert(a.end(), {"--parent", path});
      a.insert(a.end(), {"--", "/bin/sleep", "100000"});
      Run r = c.warren.exec(a);
      if (!r.ok()) {
        ok = false;
        ++launch.failures;
        launch.last_error = "level " + std::to_string(level + 1) + ": " + r.err.substr(0, r.err.find('\n'));
      }
      path += (path.empty() ? "" : ".") + name;
    }
    if (ok) launch.values.push_back(nowMs() - t0);
    Run d = c.warren.exec({"destroy", "wbchain"});
    record(destroy, d);
  }
  launch.note = "32 sequential `warren launch`, each nested in the previous; no peer nests containers";
  Target t{cs, "warren launch x32", "warren", 1};
  t.ref_case = "nested launch+exit of true";
  t.ref_scale = 32;
  t.label = "32-deep chain vs 32 x one nested launch";
  c.report.target(t);
}

void caseMemory(Ctx& c) {
  const std::string pss = "resident memory per running container (Pss)";
  const std::string rss = "resident memory per running container (VmRSS)";
  const std::string uss = "resident memory per running container (USS, private pages)";
  int n = c.mem_containers;
  if (c.have_warren) {
    for (int i = 0; i < n; ++i) {
      c.warren.exec({"launch", "--id", "wbmem" + std::to_string(i), "--rootfs", c.rootfs, "--", "/bin/sleep", "100000"});
    }
    for (const auto& k : c.warren.ps()) {
      if (k.id.rfind("wbmem", 0) != 0 || k.pid <= 0) continue;
      c.report.series(pss, "warren", "kB").values.push_back(static_cast<double>(pssKb(k.pid)));
      c.report.series(rss, "warren", "kB").values.push_back(static_cast<double>(vmRssKb(k.pid)));
      c.report.series(uss, "warren", "kB").values.push_back(static_cast<double>(ussKb(k.pid)));
    }
    c.report.series(pss, "warren", "kB").note = "warren-init (the CLI exits; no daemon)";
    for (int i = 0; i < n; ++i) c.warren.exec({"destroy", "wbmem" + std::to_string(i)});
  }
  if (c.have_crun && c.have_conmon) {
    std::vector<int> conmons;
    for (int i = 0; i < n; ++i) {
      std::string id = "wbmem" + std::to_string(i);
      std::string dir = c.scratch + "/" + id;
      if (!makeBundle(c, id, {{"/bin/sleep", "100000"}, std::string(kCgroupRoot) + "/" + id, 0}).empty()) continue;
      SpawnOpts o;
      o.mntns_fd = c.crun.mntns;
      Run r = spawn({"/usr/bin/conmon", "--cid", id, "--cuuid", id, "-n", id, "-r", "/usr/bin/crun", "--runtime-arg",
                     "--root=" + c.crun.root, "-b", dir, "-p", dir + "/pid", "--conmon-pidfile", dir + "/conmon.pid",
                     "--exit-dir", dir, "-l", "k8s-file:" + dir + "/log", "--socket-dir-path", dir},
                    o);
      c.crun.exec({"start", id});
      std::FILE* f = std::fopen((dir + "/conmon.pid").c_str(), "r");
      int pid = 0;
      if (f) {
        if (std::fscanf(f, "%d", &pid) != 1) pid = 0;
        std::fclose(f);
      }
      if (pid > 0) conmons.push_back(pid);
      else c.report.series(pss, "crun", "kB").note = say("conmon", r);
    }
    usleep(200000);
    for (int pid : conmons) {
      c.report.series(pss, "crun", "kB").values.push_back(static_cast<double>(pssKb(pid)));
      c.report.series(rss, "crun", "kB").values.push_back(static_cast<double>(vmRssKb(pid)));
      c.report.series(uss, "crun", "kB").values.push_back(static_cast<double>(ussKb(pid)));
    }
    c.report.series(pss, "crun", "kB").note = "conmon (crun itself exits after start)";
    for (int i = 0; i < n; ++i) c.crun.exec({"delete", "--force", "wbmem" + std::to_string(i)});
    for (int pid : conmons) {
      for (int w = 0; w < 100 && kill(pid, 0) == 0; ++w) usleep(20000);
    }
  }
  if (c.have_warrend) {
    // The same through warrend: one process launches every init, from one
    // sealed memfd copy of warren-init, so their text pages are shared (a
    // CLI process makes its own copy, so CLI-launched inits share nothing).
    std::vector<std::string> launches;
    for (int i = 0; i < n; ++i) {
      launches.push_back("{\"type\":\"LAUNCH_CONTAINER\",\"launch_container\":{\"container_id\":{\"value\":"
                         "\"wbmemd" + std::to_string(i) + "\"},\"command\":{\"value\":\"sleep 100000\"},"
                         "\"warren\":{\"config\":{\"rootfs\":\"" + c.rootfs + "\"}}}}");
    }
    std::vector<std::string> a{c.agent_bin, "--socket", c.warrend_socket, "--pipeline"};
    a.insert(a.end(), launches.begin(), launches.end());
    spawn(a);
    SpawnOpts o;
    o.capture_out = true;
    Run g = spawn({c.agent_bin, "--socket", c.warrend_socket, "{\"type\":\"GET_CONTAINERS\"}"}, o);
    std::set<int> pids;
    for (size_t p = g.out.find("\"executor_pid\":"); p != std::string::npos;
         p = g.out.find("\"executor_pid\":", p + 1)) {
      pids.insert(std::atoi(g.out.c_str() + p + 15));
    }
    pids.erase(0);
    for (int pid : pids) {
      c.report.series(pss, "warrend", "kB").values.push_back(static_cast<double>(pssKb(pid)));
      c.report.series(rss, "warrend", "kB").values.push_back(static_cast<double>(vmRssKb(pid)));
      c.report.series(uss, "warrend", "kB").values.push_back(static_cast<double>(ussKb(pid)));
    }
    c.report.series(pss, "warrend", "kB").note = "warren-init of containers launched through warrend (one memfd copy)";
    for (int i = 0; i < n; ++i) {
      std::string id = "{\"value\":\"wbmemd" + std::to_string(i) + "\"}";
      spawn({c.agent_bin, "--socket", c.warrend_socket, "--pipeline",
             "{\"type\":\"KILL_CONTAINER\",\"kill_container\":{\"container_id\":" + id + "}}",
             "{\"type\":\"WAIT_CONTAINER\",\"wait_container\":{\"container_id\":" + id + "}}",
             "{\"type\":\"REMOVE_CONTAINER\",\"remove_container\":{\"container_id\":" + id + "}}"});
    }
    c.report.target({pss, "warrend", "crun", 0.5});
  }
  c.report.target({pss, "warren", "crun", 0.5});
}

void caseRecovery(Ctx& c) {
  if (!c.have_warren) return;
  int n = c.recover_containers;
  const std::string cs = "recovery with " + std::to_string(n) + " running containers";
  double t0 = nowMs();
  int launched = 0;
  for (int i = 0; i < n; ++i) {
    if (c.warren.exec({"launch", "--id", "wbrec" + std::to_string(i), "--rootfs", c.rootfs, "--", "/bin/sleep",
                       "100000"}).ok()) {
      ++launched;
    }
  }
  double launch_ms = nowMs() - t0;
  auto& rec = c.report.series(cs, "warren recover");
  auto& ps = c.report.series(cs, "warren ps");
  for (int r = 0; r < c.chain_rounds; ++r) {
    record(rec, c.warren.exec({"recover"}));
    record(ps, c.warren.exec({"ps"}));
  }
  int alive = 0;
  for (const auto& k : c.warren.ps()) alive += k.id.rfind("wbrec", 0) == 0 ? 1 : 0;
  char note[160];
  std::snprintf(note, sizeof note, "%d launched in %.0f ms; %d still listed after recover", launched, launch_ms, alive);
  rec.note = note;
  if (!c.warrend_bin.empty() && !c.agent_bin.empty()) {
    // warrend started over the same dirs: recover (adopt every init) and
    // answer its first call. Stopped again (its containers keep running).
    auto& wd = c.report.series(cs, "warrend start (recover, then ready)");
    std::string sock = c.warren.runtime_dir + "/warrend.sock";
    for (int r = 0; r < c.chain_rounds; ++r) {
      double t0 = nowMs();
      pid_t pid = fork();
      if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(c.warrend_bin.c_str(), c.warrend_bin.c_str(), ("--work_dir=" + c.warren.work_dir).c_str(),
              ("--runtime_dir=" + c.warren.runtime_dir).c_str(), ("--cgroups_root=" + c.warren.cgroups_root).c_str(),
              ("--plugin_dir=" + c.warren.plugin_dir).c_str(), ("--init_path=" + c.warren.init_path).c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
      }
      bool up = false;
      for (int i = 0; i < 6000 && !up; ++i) {
        up = spawn({c.agent_bin, "--socket", sock, "{\"type\":\"GET_CONTAINERS\"}"}).ok();
        if (!up) usleep(5000);
      }
      double took = nowMs() - t0;
      if (up) wd.values.push_back(took);
      else ++wd.failures;
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
    wd.note = "exec of warrend over the same dirs until GET_CONTAINERS answers (polled every 5 ms)";
    Target wt{cs, "warrend start (recover, then ready)", "", 0};
    wt.absolute = 1000;
    c.report.target(wt);
  }
  Target t{cs, "warren recover", "", 0};
  t.absolute = 1000;
  c.report.target(t);
  for (int i = 0; i < n; ++i) c.warren.exec({"destroy", "wbrec" + std::to_string(i)});
}

}  // namespace bench
