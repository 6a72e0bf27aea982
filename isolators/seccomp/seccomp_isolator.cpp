#include "seccomp_isolator.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <seccomp.h>

#include <cstdio>
#include <functional>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::seccomp {
namespace {

const std::string kSetting = std::string(kShortName) + ".profile";

// The setting's value, or "default"; an unknown seccomp.* key is an error.
Result<std::string> profileSetting(const v1::ContainerConfig& config) {
  std::string value = "default";
  const std::string prefix = std::string(kShortName) + ".";
  for (const auto& [key, v] : config.isolator_settings()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (key != kSetting) {
      return fail(Code::InvalidArgument, "unknown isolator setting '" + key + "' (known: " + kSetting + ")");
    }
    value = v;
  }
  return value;
}

std::vector<std::string> capsOf(const v1::ContainerConfig& config) {
  return effectiveCapabilities({config.capabilities().begin(), config.capabilities().end()});
}

Result<std::string> compileJson(const std::string& text, const std::string& what,
                                const std::vector<std::string>& caps) {
  WARREN_ASSIGN_OR_RETURN(auto profile, parseProfile(text, what, caps));
  auto bpf = compileProfile(profile);
  if (!bpf) return fail(std::move(bpf.error()).context(what));
  return bpf;
}

}  // namespace

Result<std::string> readProfileFile(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return fail(Code::InvalidArgument, "seccomp profile path '" + path + "' is not absolute");
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return failErrno("seccomp profile '" + path + "'");
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxProfileBytes) {
      return fail(Code::InvalidArgument, "seccomp profile '" + path + "' is larger than 4 MiB");
    }
  }
  if (n < 0) return failErrno("read seccomp profile '" + path + "'");
  return text;
}

Result<std::string> filterFor(const v1::ContainerConfig& config, const std::string& default_json) {
  WARREN_ASSIGN_OR_RETURN(std::string setting, profileSetting(config));
  const auto caps = capsOf(config);
  if (setting == "unconfined") return std::string();
  if (setting == "default") {
    if (!default_json.empty()) return compileJson(default_json, "default profile", caps);
    return compileProfile(defaultProfile(caps));
  }
  if (!setting.empty() && setting[0] == '{') return compileJson(setting, "profile (inline)", caps);
  if (!setting.empty() && setting[0] == '/') {
    WARREN_ASSIGN_OR_RETURN(std::string text, readProfileFile(setting));
    return compileJson(text, "profile '" + setting + "'", caps);
  }
  return fail(Code::InvalidArgument, "isolator setting '" + kSetting + "' must be default, unconfined, "
                                     "an absolute path or inline JSON, not '" + setting.substr(0, 64) + "'");
}

std::string profileKey(const Profile& p) {
  std::string s = std::to_string(static_cast<int>(p.default_action.kind)) + ":" +
                  std::to_string(p.default_action.value) + "|";
  for (const auto& a : p.architectures) s += a + ",";
  for (const auto& r : p.rules) {
    s += "|" + std::to_string(static_cast<int>(r.action.kind)) + ":" + std::to_string(r.action.value);
    for (const auto& n : r.names) s += "," + n;
    for (const auto& a : r.args) {
      s += ";" + std::to_string(a.index) + a.op + std::to_string(a.value) + "/" + std::to_string(a.value_two);
    }
  }
  const scmp_version* v = seccomp_version();
  s += "|libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016zx-%zu", std::hash<std::string>{}(s), s.size());
  return buf;
}

Result<std::string> SeccompIsolator::defaultFilter(const std::vector<std::string>& caps) {
  Profile p = defaultProfile(caps);
  const std::string key = profileKey(p);
  std::lock_guard<std::mutex> g(mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  const std::string path = cache_dir_.empty() ? "" : cache_dir_ + "/default-" + key + ".bpf";
  if (!path.empty()) {
    auto cached = fs::readFile(path);
    if (cached && !cached->empty() && cached->size() % 8 == 0 && cached->size() / 8 <= 4096) {
      return cache_.emplace(key, std::move(*cached)).first->second;
    }
  }
  WARREN_ASSIGN_OR_RETURN(std::string bpf, compileProfile(p));
  if (!path.empty()) {
    auto w = fs::writeFileAtomic(path, bpf);
    if (!w) log_->warn("seccomp: cannot cache the default filter: {}", w.error().message());
  }
  return cache_.emplace(key, std::move(bpf)).first->second;
}

SeccompIsolator::SeccompIsolator(Config config, std::string default_json, std::string cache_dir)
    : config_(std::move(config)),
      cache_dir_(std::move(cache_dir)),
      default_json_(std::move(default_json)),
      log_(sdk::makeLogger("warren.isolator.seccomp")) {}

Result<std::unique_ptr<SeccompIsolator>> SeccompIsolator::create(const v1::PluginContext& ctx) {
  auto config = sdk::parseConfig<Config>(ctx);
  if (!config) return fail(std::move(config.error()).context("seccomp isolator"));
  std::string text;
  if (!config->default_profile().empty()) {
    auto t = readProfileFile(config->default_profile());
    if (!t) return fail(std::move(t.error()).context("seccomp isolator: default_profile"));
    // Checked now, so a bad operator profile fails at start, not per launch.
    auto p = parseProfile(*t, "profile '" + config->default_profile() + "'", effectiveCapabilities({}));
    if (!p) return fail(std::move(p.error()).context("seccomp isolator: default_profile"));
    text = std::move(*t);
  }
  return std::unique_ptr<SeccompIsolator>(
      new SeccompIsolator(std::move(*config), std::move(text), ctx.plugin_runtime_dir()));
}

v1::PluginInfo SeccompIsolator::info() const {
  v1::PluginInfo i;
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  return i;
}

Result<v1::LaunchInfo> SeccompIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& config = req.container().config();
  const std::string id = formatId(req.container().id());
  WARREN_ASSIGN_OR_RETURN(std::string setting, profileSetting(config));
  std::string bpf;
  if (setting == "default" && default_json_.empty()) {
    WARREN_ASSIGN_OR_RETURN(bpf, defaultFilter(capsOf(config)));
  } else {
    auto r = filterFor(config, default_json_);
    if (!r) return fail(std::move(r.error()).context("container '" + id + "'"));
    bpf = std::move(*r);
  }
  v1::LaunchInfo li;
  if (bpf.empty()) {
    log_->info("container_id={} seccomp: unconfined (asked for by its config)", id);
    return li;
  }
  log_->debug("container_id={} seccomp: {} profile, {} BPF instructions", id, setting, bpf.size() / 8);
  li.set_seccomp_bpf(std::move(bpf));
  return li;
}

}  // namespace warren::isolators::seccomp
