#include "group.hpp"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "flags.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {

namespace {

int fails(const Error& e) {
  std::fprintf(stderr, "warren: %s\n", e.message().c_str());
  return e.code() == Code::InvalidArgument ? 2 : (e.code() == Code::NotFound ? 3 : 1);
}

std::string termJson(const v1::Termination& t) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(t, &out, o);
  return out;
}

int printTerminations(const std::vector<Containerizer::MemberTermination>& ts, bool json) {
  int worst = 0;
  if (json) std::cout << "[";
  for (size_t i = 0; i < ts.size(); ++i) {
    const auto& [id, t] = ts[i];
    if (json) {
      std::cout << (i ? "," : "") << "{\"id\":\"" << formatId(id) << "\",\"termination\":" << termJson(t) << "}";
    } else {
      std::printf("%-30s %-20s %s\n", formatId(id).c_str(),
                  v1::Termination::Reason_Name(t.reason()).c_str(), t.message().c_str());
    }
    int code = t.has_exit_status() ? t.exit_code() : (t.signal() ? 128 + t.signal() : 1);
    if (code != 0 && worst == 0) worst = code;
  }
  if (json) std::cout << "]\n";
  return worst;
}

}  // namespace

int groupCommand(Containerizer& c, const std::vector<std::string>& args, bool json) {
  if (args.empty()) return fails(Error(Code::InvalidArgument, "group needs a subcommand: launch, wait, kill, destroy"));
  const std::string& sub = args[0];
  if (sub == "launch") {
    std::string parent, file;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--parent" && i + 1 < args.size()) parent = args[++i];
      else if (args[i].rfind("--parent=", 0) == 0) parent = args[i].substr(9);
      else file = args[i];
    }
    if (parent.empty() || file.empty()) {
      return fails(Error(Code::InvalidArgument, "usage: warren group launch --parent ID FILE"));
    }
    auto pid = parseId(parent);
    if (!pid) return fails(pid.error());
    auto text = fs::readFile(file);
    if (!text) return fails(Error(Code::InvalidArgument, "cannot read task group spec: " + text.error().message()));
    auto g = parseGroupSpec(*text, file);
    if (!g) return fails(g.error());
    auto r = c.launchGroup(*pid, *g);
    if (!r) return fails(r.error());
    for (const auto& s : *r) std::printf("%s\n", formatId(s.id()).c_str());
    return 0;
  }
  if (args.size() < 3) return fails(Error(Code::InvalidArgument, "usage: warren group " + sub + " PARENT NAME"));
  auto pid = parseId(args[1]);
  if (!pid) return fails(pid.error());
  const std::string& name = args[2];
  if (sub == "wait") {
    auto r = c.waitGroup(*pid, name);
    if (!r) return fails(r.error());
    return printTerminations(*r, json);
  }
  if (sub == "kill") {
    int sig = SIGKILL;
    if (args.size() > 3) {
      auto s = parseSignal(args[3]);
      if (!s) return fails(s.error());
      sig = *s;
    }
    auto r = c.killGroup(*pid, name, sig);
    return r ? 0 : fails(r.error());
  }
  if (sub == "destroy") {
    auto r = c.destroyGroup(*pid, name);
    if (!r) return fails(r.error());
    printTerminations(*r, json);
    return 0;
  }
  return fails(Error(Code::InvalidArgument, "unknown group subcommand '" + sub + "'"));
}

}  // namespace warren::cli
