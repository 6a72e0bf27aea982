// The OCI seccomp JSON (runtime-spec linux.seccomp) -> Profile. Also reads
// the containers-common/Docker extensions (archMap, includes/excludes by
// caps, arches and minKernel) so their published profiles load unchanged.
// Every error is one line naming the field ("syscalls[3].action").
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "profile.hpp"

namespace warren::isolators::seccomp {
namespace {

using json = nlohmann::json;

struct Ctx {
  std::string what;
  const std::vector<std::string>& caps;
  Error err(const std::string& field, const std::string& why) const {
    return Error(Code::InvalidArgument, "seccomp " + what + ": " + field + ": " + why);
  }
};

#if defined(__x86_64__)
constexpr const char* kNativeArch = "SCMP_ARCH_X86_64";
constexpr const char* kNativeOciArch = "amd64";
#elif defined(__aarch64__)
constexpr const char* kNativeArch = "SCMP_ARCH_AARCH64";
constexpr const char* kNativeOciArch = "arm64";
#else
constexpr const char* kNativeArch = "";
constexpr const char* kNativeOciArch = "";
#endif

Result<Action> parseAction(const Ctx& c, const json& j, const std::string& field) {
  if (!j.is_string()) return fail(c.err(field, "must be a string like \"SCMP_ACT_ERRNO\""));
  const std::string a = j.get<std::string>();
  if (a == "SCMP_ACT_ALLOW") return Action{ActionKind::Allow, 0};
  if (a == "SCMP_ACT_ERRNO") return Action{ActionKind::Errno, EPERM};
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return Action{ActionKind::KillThread, 0};
  if (a == "SCMP_ACT_KILL_PROCESS") return Action{ActionKind::KillProcess, 0};
  if (a == "SCMP_ACT_TRAP") return Action{ActionKind::Trap, 0};
  if (a == "SCMP_ACT_TRACE") return Action{ActionKind::Trace, EPERM};
  if (a == "SCMP_ACT_LOG") return Action{ActionKind::Log, 0};
  if (a == "SCMP_ACT_NOTIFY") {
    return fail(c.err(field, "SCMP_ACT_NOTIFY is not supported (warren runs no seccomp agent)"));
  }
  return fail(c.err(field, "unknown action '" + a + "'"));
}

Result<uint32_t> parseErrno(const Ctx& c, const json& j, const std::string& field) {
  if (!j.is_number_unsigned() || j.get<uint64_t>() > 4095) {
    return fail(c.err(field, "must be an errno number between 0 and 4095"));
  }
  return static_cast<uint32_t>(j.get<uint64_t>());
}

Result<void> checkKeys(const Ctx& c, const json& obj, const std::string& field,
                       std::initializer_list<const char*> known) {
  for (const auto& [k, v] : obj.items()) {
    if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) {
      return fail(c.err(field.empty() ? k : field + "." + k, "unknown field"));
    }
  }
  return {};
}

// "5.8" <= the running kernel's release.
bool kernelAtLeast(const std::string& want) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int a = 0, b = 0, x = 0, y = 0;
  if (std::sscanf(want.c_str(), "%d.%d", &a, &b) < 1 || std::sscanf(u.release, "%d.%d", &x, &y) < 2) {
    return false;
  }
  return x > a || (x == a && y >= b);
}

// containers-common "includes"/"excludes": {caps, arches, minKernel}.
Result<bool> filterMatches(const Ctx& c, const json& f, const std::string& field, bool* any) {
  *any = false;
  if (f.is_null()) return true;
  if (!f.is_object()) return fail(c.err(field, "must be an object"));
  WARREN_TRY(checkKeys(c, f, field, {"caps", "arches", "minKernel"}));
  bool all = true;
  if (f.contains("caps") && !f["caps"].is_null()) {
    if (!f["caps"].is_array()) return fail(c.err(field + ".caps", "must be an array of strings"));
    for (const auto& cap : f["caps"]) {
      if (!cap.is_string()) return fail(c.err(field + ".caps", "must be an array of strings"));
      *any = true;
      all = all && std::find(c.caps.begin(), c.caps.end(), cap.get<std::string>()) != c.caps.end();
    }
  }
  if (f.contains("arches") && !f["arches"].is_null()) {
    if (!f["arches"].is_array()) return fail(c.err(field + ".arches", "must be an array of strings"));
    bool found = false;
    for (const auto& a : f["arches"]) {
      if (!a.is_string()) return fail(c.err(field + ".arches", "must be an array of strings"));
      *any = true;
      found = found || a.get<std::string>() == kNativeOciArch;
    }
    if (!f["arches"].empty()) all = all && found;
  }
  if (f.contains("minKernel") && !f["minKernel"].is_null()) {
    if (!f["minKernel"].is_string()) return fail(c.err(field + ".minKernel", "must be a string like \"5.8\""));
    *any = true;
    all = all && kernelAtLeast(f["minKernel"].get<std::string>());
  }
  return all;
}

Result<ArgCmp> parseArg(const Ctx& c, const json& a, const std::string& field) {
  if (!a.is_object()) return fail(c.err(field, "must be an object"));
  WARREN_TRY(checkKeys(c, a, field, {"index", "value", "valueTwo", "op"}));
  ArgCmp out;
  if (!a.contains("index") || !a["index"].is_number_unsigned() || a["index"].get<uint64_t>() > 5) {
    return fail(c.err(field + ".index", "must be an argument number from 0 to 5"));
  }
  out.index = static_cast<unsigned>(a["index"].get<uint64_t>());
  for (const char* k : {"value", "valueTwo"}) {
    if (a.contains(k) && !a[k].is_number_unsigned()) {
      return fail(c.err(field + "." + k, "must be an unsigned number"));
    }
  }
  out.value = a.value("value", uint64_t{0});
  out.value_two = a.value("valueTwo", uint64_t{0});
  static const char* const kOps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  if (!a.contains("op") || !a["op"].is_string() ||
      std::find(std::begin(kOps), std::end(kOps), a["op"].get<std::string>()) == std::end(kOps)) {
    return fail(c.err(field + ".op", "must be one of SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ"));
  }
  out.op = a["op"].get<std::string>();
  return out;
}

Result<void> parseRule(const Ctx& c, const json& r, const std::string& field, Profile& p) {
  if (!r.is_object()) return fail(c.err(field, "must be an object"));
  WARREN_TRY(checkKeys(c, r, field,
                       {"names", "name", "action", "errnoRet", "args", "comment", "includes",
                        "excludes", "errno"}));
  bool any_inc = false, any_exc = false;
  WARREN_ASSIGN_OR_RETURN(bool inc, filterMatches(c, r.value("includes", json()), field + ".includes", &any_inc));
  WARREN_ASSIGN_OR_RETURN(bool exc, filterMatches(c, r.value("excludes", json()), field + ".excludes", &any_exc));
  Rule rule;
  const json* names = r.contains("names") ? &r["names"] : r.contains("name") ? &r["name"] : nullptr;
  if (names && names->is_string()) {
    rule.names.push_back(names->get<std::string>());
  } else if (names && names->is_array() && !names->empty()) {
    for (const auto& n : *names) {
      if (!n.is_string() || n.get<std::string>().empty()) {
        return fail(c.err(field + ".names", "must be an array of syscall names"));
      }
      rule.names.push_back(n.get<std::string>());
    }
  } else {
    return fail(c.err(field + ".names", "missing or empty"));
  }
  if (!r.contains("action")) return fail(c.err(field + ".action", "missing"));
  WARREN_ASSIGN_OR_RETURN(rule.action, parseAction(c, r["action"], field + ".action"));
  if (r.contains("errnoRet") && !r["errnoRet"].is_null()) {
    if (rule.action.kind != ActionKind::Errno && rule.action.kind != ActionKind::Trace) {
      return fail(c.err(field + ".errnoRet", "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"));
    }
    WARREN_ASSIGN_OR_RETURN(rule.action.value, parseErrno(c, r["errnoRet"], field + ".errnoRet"));
  }
  if (r.contains("args") && !r["args"].is_null()) {
    if (!r["args"].is_array()) return fail(c.err(field + ".args", "must be an array"));
    for (size_t i = 0; i < r["args"].size(); ++i) {
      WARREN_ASSIGN_OR_RETURN(auto a, parseArg(c, r["args"][i], field + ".args[" + std::to_string(i) + "]"));
      rule.args.push_back(std::move(a));
    }
  }
  // Checked, then applied only where the includes hold and the excludes do not.
  if (!inc || (any_exc && exc)) return {};
  p.rules.push_back(std::move(rule));
  return {};
}

Result<void> parseArches(const Ctx& c, const json& j, Profile& p) {
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    if (!j["architectures"].is_array()) return fail(c.err("architectures", "must be an array"));
    for (const auto& a : j["architectures"]) {
      if (!a.is_string()) return fail(c.err("architectures", "must be an array of SCMP_ARCH_* names"));
      p.architectures.push_back(a.get<std::string>());
    }
  }
  // archMap: the entry for the host's architecture and its sub-architectures.
  if (j.contains("archMap") && !j["archMap"].is_null()) {
    if (!j["archMap"].is_array()) return fail(c.err("archMap", "must be an array"));
    for (size_t i = 0; i < j["archMap"].size(); ++i) {
      const auto& m = j["archMap"][i];
      std::string f = "archMap[" + std::to_string(i) + "]";
      if (!m.is_object() || !m.contains("architecture") || !m["architecture"].is_string()) {
        return fail(c.err(f + ".architecture", "missing or not a string"));
      }
      if (m["architecture"].get<std::string>() != kNativeArch) continue;
      p.architectures.push_back(kNativeArch);
      if (m.contains("subArchitectures") && m["subArchitectures"].is_array()) {
        for (const auto& s : m["subArchitectures"]) {
          if (!s.is_string()) return fail(c.err(f + ".subArchitectures", "must be an array of strings"));
          p.architectures.push_back(s.get<std::string>());
        }
      }
    }
  }
  return {};
}

}  // namespace

Result<Profile> parseProfile(const std::string& text, const std::string& what,
                             const std::vector<std::string>& caps) {
  Ctx c{what, caps};
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(c.err("JSON", "not valid JSON"));
  if (!j.is_object()) return fail(c.err("JSON", "must be an object"));
  WARREN_TRY(checkKeys(c, j, "",
                       {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap",
                        "flags", "syscalls", "listenerPath", "listenerMetadata"}));
  Profile p;
  if (!j.contains("defaultAction")) return fail(c.err("defaultAction", "missing"));
  WARREN_ASSIGN_OR_RETURN(p.default_action, parseAction(c, j["defaultAction"], "defaultAction"));
  if (j.contains("defaultErrnoRet") && !j["defaultErrnoRet"].is_null()) {
    if (p.default_action.kind != ActionKind::Errno && p.default_action.kind != ActionKind::Trace) {
      return fail(c.err("defaultErrnoRet", "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"));
    }
    WARREN_ASSIGN_OR_RETURN(p.default_action.value, parseErrno(c, j["defaultErrnoRet"], "defaultErrnoRet"));
  }
  for (const char* k : {"listenerPath", "listenerMetadata"}) {
    if (j.contains(k) && !(j[k].is_null() || (j[k].is_string() && j[k].get<std::string>().empty()))) {
      return fail(c.err(k, "is not supported (warren runs no seccomp agent)"));
    }
  }
  if (j.contains("flags") && !j["flags"].is_null() &&
      !(j["flags"].is_array() && j["flags"].empty())) {
    return fail(c.err("flags", "filter flags are not supported; give none"));
  }
  WARREN_TRY(parseArches(c, j, p));
  if (j.contains("syscalls") && !j["syscalls"].is_null()) {
    if (!j["syscalls"].is_array()) return fail(c.err("syscalls", "must be an array"));
    for (size_t i = 0; i < j["syscalls"].size(); ++i) {
      WARREN_TRY(parseRule(c, j["syscalls"][i], "syscalls[" + std::to_string(i) + "]", p));
    }
  }
  return p;
}

}  // namespace warren::isolators::seccomp
