// warren-plugin-check PLUGIN.so [--config JSON] [--flag NAME=VALUE]... [--cgroups_root /PATH]
//
// The plugin contract as a test: loads one plugin the way warren does and
// runs every check it can, one line each ("ok", "FAIL" or "skip", the check's
// name, a colon and what was seen). Exit 0 when nothing failed, 1 otherwise,
// 2 on bad usage. Needs no root for the checks themselves; a plugin whose
// work needs root (cgroups, mounts) fails those checks without it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "check/elf_deps.hpp"
#include "host/loader.hpp"
#include "host/plugin_host.hpp"

namespace {

using namespace warren;
using namespace warren::plugins;

int failures = 0;

void line(const char* status, const std::string& check, const std::string& detail) {
  std::string d = detail;
  for (char& c : d) {
    if (c == '\n') c = ' ';
  }
  std::cout << status << " " << check << ": " << d << "\n" << std::flush;
}
void ok(const std::string& check, const std::string& detail) { line("ok  ", check, detail); }
void bad(const std::string& check, const std::string& detail) {
  ++failures;
  line("FAIL", check, detail);
}
void skip(const std::string& check, const std::string& detail) { line("skip", check, detail); }

struct Args {
  std::string path;
  std::string config;
  std::map<std::string, std::string> flags;
  std::string cgroups_root;
};

struct Scratch {
  std::string root;
  Scratch() {
    char tmpl[] = "/tmp/warren-plugin-check-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) root = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    if (!root.empty()) std::filesystem::remove_all(root, ec);
  }
};

std::unique_ptr<PluginHost> makeHost(const Args& a, const Scratch& s, Isolation iso,
                                     const std::string& short_name, const std::string& config) {
  HostOptions o;
  if (!short_name.empty() && !config.empty()) o.configs = {{short_name, config}};
  o.work_dir = s.root + "/work";
  o.runtime_dir = s.root + "/run";
  o.cgroups_root = a.cgroups_root.empty() ? "/warren-plugin-check-" + std::to_string(::getpid())
                                          : a.cgroups_root;
  o.flags = a.flags;
  o.isolation = {{"*", iso}};
  o.call_deadline = std::chrono::seconds(20);
  auto host = PluginHost::create(o, nullptr);
  return host;
}

v1::ContainerRequest unknownContainer(const std::string& id) {
  v1::ContainerRequest r;
  r.mutable_id()->add_path(id);
  return r;
}

bool validFlagType(const std::string& t) {
  static const std::set<std::string> types = {"string", "bool", "int", "duration", "bytes", "list"};
  return types.count(t) != 0;
}

// The checks that need an instance; `tag` distinguishes in/out of process.
void instanceChecks(const Args& a, const Scratch& s, const std::string& short_name, Isolation iso,
                    const std::string& tag) {
  auto host = makeHost(a, s, iso, short_name, a.config);
  auto loaded = host->loadFile(a.path);
  if (!loaded) return bad(tag + "load", loaded.error().message());
  const Descriptor& d = **loaded;
  auto made = host->instance(d.kind, d.short_name);
  if (!made) return bad(tag + "create", made.error().message());
  Plugin* p = *made;
  ok(tag + "create", std::string(iso == Isolation::Process ? "out of process" : "in process"));
  const v1::PluginInfo& info = p->info();
  if (d.kind == Kind::Isolator) {
    for (const auto& dep : info.dependencies()) {
      if (!validShortName(dep)) bad(tag + "info", "dependency '" + dep + "' is not a short name");
    }
    ok(tag + "nesting", std::string("supports_nesting=") + (info.supports_nesting() ? "true" : "false") +
                            " supports_standalone=" + (info.supports_standalone() ? "true" : "false"));
    auto empty = p->call<v1::Empty>(v1::RECOVER, v1::RecoverRequest{});
    empty ? ok(tag + "recover with an empty set", "accepted")
          : bad(tag + "recover with an empty set", empty.error().message());
    v1::RecoverRequest rr;
    rr.add_containers()->mutable_id()->add_path("warren-check-unknown");
    auto unknown = p->call<v1::Empty>(v1::RECOVER, rr);
    unknown ? ok(tag + "recover with an unknown container", "accepted")
            : bad(tag + "recover with an unknown container", unknown.error().message());
    auto c1 = p->call<v1::Empty>(v1::CLEANUP, unknownContainer("warren-check-never-seen"));
    c1 ? ok(tag + "cleanup of an unknown container", "accepted")
       : bad(tag + "cleanup of an unknown container", c1.error().message());
    // prepare -> isolate -> cleanup -> cleanup, with a real (stopped) pid.
    v1::PrepareRequest pr;
    auto* ctx = pr.mutable_container();
    ctx->mutable_id()->add_path("warren-check-" + std::to_string(::getpid()));
    ctx->set_sandbox(s.root + "/sandbox");
    ctx->set_runtime_dir(s.root + "/run/containers/check");
    std::filesystem::create_directories(ctx->sandbox());
    std::filesystem::create_directories(ctx->runtime_dir());
    ctx->mutable_config()->mutable_command()->set_value("/bin/true");
    auto prep = p->call<v1::PrepareResponse>(v1::PREPARE, pr);
    if (!prep) {
      bad(tag + "prepare/isolate/cleanup", "prepare: " + prep.error().message());
    } else {
      pid_t child = ::fork();
      if (child == 0) {
        ::raise(SIGSTOP);
        ::_exit(0);
      }
      v1::IsolateRequest ir;
      *ir.mutable_container() = *ctx;
      ir.set_pid(child);
      auto iso_r = p->call<v1::Empty>(v1::ISOLATE, ir);
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      v1::ContainerRequest cr;
      *cr.mutable_id() = ctx->id();
      auto cl1 = p->call<v1::Empty>(v1::CLEANUP, cr);
      auto cl2 = p->call<v1::Empty>(v1::CLEANUP, cr);
      if (!iso_r) {
        bad(tag + "prepare/isolate/cleanup", "isolate: " + iso_r.error().message());
      } else if (!cl1) {
        bad(tag + "prepare/isolate/cleanup", "cleanup: " + cl1.error().message());
      } else {
        ok(tag + "prepare/isolate/cleanup", "in order");
      }
      cl2 ? ok(tag + "cleanup is idempotent", "second cleanup accepted")
          : bad(tag + "cleanup is idempotent", cl2.error().message());
    }
    if (info.thread_safe()) {
      std::vector<std::future<Result<v1::ResourceStatistics>>> calls;
      for (int i = 0; i < 8; ++i) {
        calls.push_back(std::async(std::launch::async, [p, i] {
          return p->call<v1::ResourceStatistics>(v1::USAGE, unknownContainer("warren-check-ts-" + std::to_string(i)));
        }));
      }
      std::string err;
      for (auto& f : calls) {
        auto r = f.get();
        if (!r && r.error().code() != Code::NotFound && err.empty()) err = r.error().message();
      }
      err.empty() ? ok(tag + "thread safety", "8 concurrent usage calls answered")
                  : bad(tag + "thread safety", err);
    } else {
      skip(tag + "thread safety", "not declared thread_safe");
    }
  } else {
    auto empty = p->call<v1::Empty>(v1::RECOVER, v1::RecoverRequest{});
    empty ? ok(tag + "recover with an empty set", "accepted")
          : bad(tag + "recover with an empty set", empty.error().message());
    if (info.schemes_size() == 0) bad(tag + "info", "a provisioner must list its schemes");
    auto d1 = p->call<v1::Empty>(v1::DESTROY, unknownContainer("warren-check-never-seen"));
    auto d2 = p->call<v1::Empty>(v1::DESTROY, unknownContainer("warren-check-never-seen"));
    (d1 && d2) ? ok(tag + "destroy of an unknown container", "accepted twice")
               : bad(tag + "destroy of an unknown container", (d1 ? d2 : d1).error().message());
  }
}

int usage() {
  std::cerr << "usage: warren-plugin-check PLUGIN.so [--config JSON] [--flag NAME=VALUE]... "
               "[--cgroups_root /PATH]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      a.config = argv[++i];
    } else if (arg == "--flag" && i + 1 < argc) {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) return usage();
      a.flags[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (arg == "--cgroups_root" && i + 1 < argc) {
      a.cgroups_root = argv[++i];
    } else if (!arg.empty() && arg[0] != '-' && a.path.empty()) {
      a.path = std::filesystem::absolute(arg).string();
    } else {
      return usage();
    }
  }
  if (a.path.empty()) return usage();
  Scratch s;
  if (s.root.empty()) {
    std::cerr << "warren-plugin-check: cannot make a scratch dir in /tmp\n";
    return 2;
  }

  // 1. Descriptor and static info (read in a child).
  auto host = makeHost(a, s, Isolation::InProcess, "", "");
  auto loaded = host->loadFile(a.path);
  if (!loaded) {
    bad("descriptor", loaded.error().message());
    return 1;
  }
  const Descriptor& d = **loaded;
  ok("descriptor", d.name + " '" + d.short_name + "' " + d.version + " ABI " +
                       std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor));
  if (d.abi_minor < 1) {
    skip("static info", "ABI 1.0 plugin has no describe");
  } else {
    std::string problem;
    std::set<std::string> names;
    for (const auto& f : d.static_info.flags()) {
      if (f.name().empty()) problem = "a flag has no name";
      else if (!names.insert(f.name()).second) problem = "flag '" + f.name() + "' is declared twice";
      else if (!validFlagType(f.type())) problem = "flag '" + f.name() + "' has type '" + f.type() + "' (want string|bool|int|duration|bytes|list)";
      else if (f.help().empty()) problem = "flag '" + f.name() + "' has no help";
      if (!problem.empty()) break;
    }
    problem.empty() ? ok("static info", std::to_string(d.static_info.flags_size()) + " flags, thread_safe=" +
                                             (d.static_info.thread_safe() ? "true" : "false") + ", " +
                                             std::to_string(d.static_info.config_fields_size()) + " config fields")
                    : bad("static info", problem);
  }
  if (d.proto_files.empty()) {
    ok("proto files", "none embedded");
  } else {
    std::string list;
    for (const auto& f : d.proto_files) list += (list.empty() ? "" : ", ") + f;
    ok("proto files", list);
  }

  // 1b. The file: one identity, exports only the descriptor, and no tie to
  // the host's logging library (plugins log through the C callback).
  {
    std::string id = d.short_name, dotted = d.short_name;
    for (char& c : id) c = c == '/' ? '_' : c;
    for (char& c : dotted) c = c == '/' ? '.' : c;
    const std::string kind = d.kind == Kind::Isolator ? "isolator" : "provisioner";
    const std::string file = kind + "_" + id + ".so", suffix = "." + kind + "." + dotted;
    const std::string have = std::filesystem::path(a.path).filename().string();
    bool name_ok = d.name.size() > suffix.size() && d.name.compare(d.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (have != file) {
      bad("identity", "file '" + have + "' should be '" + file + "' for short name '" + d.short_name + "'");
    } else if (!name_ok) {
      bad("identity", "name '" + d.name + "' should be <vendor>" + suffix + " for short name '" + d.short_name + "'");
    } else {
      ok("identity", file + ", " + d.name);
    }
    auto elf = check::readElfDeps(a.path);
    if (!elf) {
      bad("exports", elf.error().message());
    } else {
      std::string extra;
      for (const auto& s : elf->exported) {
        if (s != WARREN_PLUGIN_SYMBOL) extra += (extra.empty() ? "" : ", ") + s;
      }
      extra.empty() ? ok("exports", std::string("only ") + WARREN_PLUGIN_SYMBOL)
                    : bad("exports", "exports more than " + std::string(WARREN_PLUGIN_SYMBOL) + ": " + extra);
      auto ties = check::hostLoggingTies(*elf);
      std::string list;
      for (size_t i = 0; i < ties.size() && i < 4; ++i) list += (i == 0 ? "" : ", ") + ties[i];
      if (ties.size() > 4) list += " (+" + std::to_string(ties.size() - 4) + " more)";
      ties.empty() ? ok("host logging", "no spdlog/fmt library or symbol (logs through the host's callback)")
                   : bad("host logging", "linked to the host's logging library: " + list);
    }
  }

  // 2. Config validation: an unknown field must be refused with one line.
  {
    auto bogus = makeHost(a, s, Isolation::Process, d.short_name, R"({"warrenCheckNoSuchField": 1})");
    auto l = bogus->loadFile(a.path);
    auto made = l ? bogus->instance(d.kind, d.short_name) : Result<Plugin*>(fail(l.error()));
    if (!made && made.error().message().find("create failed") != std::string::npos) {
      ok("config validation", "unknown field refused: " + made.error().message());
    } else if (made && d.static_info.config_fields_size() == 0) {
      skip("config validation", "declares no config fields and ignores its config");
    } else if (made) {
      bad("config validation", "accepted a config with an unknown field");
    } else {
      bad("config validation", made.error().message());
    }
  }

  // 3. The contract in process, then out of process.
  instanceChecks(a, s, d.short_name, Isolation::InProcess, "");
  instanceChecks(a, s, d.short_name, Isolation::Process, "out of process: ");

  std::cout << (failures == 0 ? "PASS " : "FAIL ") << d.short_name << ": " << failures
            << " check(s) failed\n";
  return failures == 0 ? 0 : 1;
}
