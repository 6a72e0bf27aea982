#include "group.hpp"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {

namespace {

nlohmann::json terminations(const std::vector<Containerizer::MemberTermination>& ts, int* worst) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& [id, t] : ts) {
    arr.push_back(terminationJson(id, t));
    int code = exitCodeOf(t);
    if (code != 0 && *worst == 0) *worst = code;
  }
  return arr;
}

int printTerminations(const std::vector<Containerizer::MemberTermination>& ts) {
  int worst = 0;
  auto arr = terminations(ts, &worst);
  if (Output::get().json()) {
    Output::get().print({{"members", arr}});
    return worst;
  }
  for (const auto& [id, t] : ts) {
    std::printf("%-30s %-20s %s\n", formatId(id).c_str(), v1::Termination::Reason_Name(t.reason()).c_str(),
                t.message().c_str());
  }
  return worst;
}

}  // namespace

int groupCommand(Containerizer& c, const CommandSpec& spec, const po::variables_map& vm) {
  auto& out = Output::get();
  const std::string sub = spec.name.substr(6);
  if (sub == "launch") {
    if (!vm.count("parent") || !vm.count("file")) {
      return out.fail(Error(Code::InvalidArgument, "usage: warren group launch --parent ID FILE"));
    }
    auto pid = parseId(vm["parent"].as<std::string>());
    if (!pid) return out.fail(pid.error());
    std::string file = vm["file"].as<std::string>();
    auto text = fs::readFile(file);
    if (!text) return out.fail(Error(Code::InvalidArgument, "cannot read task group spec: " + text.error().message()));
    auto g = parseGroupSpec(*text, file);
    if (!g) return out.fail(g.error());
    if (vm.count("max_completion_time")) {
      auto ms = parseDurationMs("--max_completion_time", vm["max_completion_time"].as<std::string>());
      if (!ms) return out.fail(ms.error());
      g->set_max_completion_time_ms(*ms);
    }
    auto r = c.launchGroup(*pid, *g);
    if (!r) return out.fail(r.error());
    if (out.json()) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& s : *r) arr.push_back(toJson(s));
      out.print({{"members", arr}});
    } else {
      for (const auto& s : *r) std::printf("%s\n", formatId(s.id()).c_str());
    }
    return 0;
  }
  if (!vm.count("parent") || !vm.count("name")) {
    return out.fail(Error(Code::InvalidArgument, "usage: warren " + spec.synopsis));
  }
  auto pid = parseId(vm["parent"].as<std::string>());
  if (!pid) return out.fail(pid.error());
  const std::string name = vm["name"].as<std::string>();
  if (auto n = validateName(name); !n) {
    return out.fail(Error(Code::InvalidArgument, "invalid task group name '" + name + "': " + n.error().message()));
  }
  if (sub == "wait") {
    auto r = c.waitGroup(*pid, name);
    if (!r) return out.fail(r.error());
    return printTerminations(*r);
  }
  if (sub == "kill") {
    int sig = SIGKILL;
    if (vm.count("signal")) {
      auto s = parseSignal(vm["signal"].as<std::string>());
      if (!s) return out.fail(s.error());
      sig = *s;
    }
    auto r = c.killGroup(*pid, name, sig);
    if (!r) return out.fail(r.error());
    if (out.json()) out.print({{"parent", formatId(*pid)}, {"name", name}, {"signal", sig}});
    return 0;
  }
  auto r = c.destroyGroup(*pid, name);
  if (!r) return out.fail(r.error());
  printTerminations(*r);
  return 0;
}

}  // namespace warren::cli
