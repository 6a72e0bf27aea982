#include "plugin_flags.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "flags.hpp"
#include "host/flag_check.hpp"
#include "host/install_layout.hpp"
#include "host/plugin_host.hpp"

#ifndef WARREN_REL_LIBDIR
#define WARREN_REL_LIBDIR "lib"
#endif

namespace warren::cli {

namespace po = boost::program_options;

namespace {

std::vector<PluginFlag>& registry() {
  static std::vector<PluginFlag> r;
  return r;
}
std::vector<std::string>& errors() {
  static std::vector<std::string> e;
  return e;
}

bool isList(const v1::FlagSpec& s) { return s.type() == "list"; }

std::string helpOf(const PluginFlag& f) {
  std::string h = f.spec.help().empty() ? "(no help given)" : f.spec.help();
  h += " [" + (f.spec.type().empty() ? std::string("string") : f.spec.type());
  if (!f.spec.default_value().empty()) h += ", default " + f.spec.default_value();
  return h + "; plugin " + f.plugin + "]";
}

Result<std::string> checkValue(const PluginFlag& f, const std::string& name, const std::string& v) {
  const std::string& t = f.spec.type();
  auto bad = [&](const std::string& want) {
    return fail(Code::InvalidArgument, "invalid --" + name + " '" + v + "': expected " + want);
  };
  WARREN_TRY(plugins::checkFlagChoice(f.spec, name, v));
  if (t == "bool") {
    static const std::set<std::string> kTrue = {"true", "1", "yes", "on"}, kFalse = {"false", "0", "no", "off"};
    if (kTrue.count(v)) return std::string("true");
    if (kFalse.count(v)) return std::string("false");
    return bad("true or false");
  }
  if (t == "int") {
    char* end = nullptr;
    errno = 0;
    (void)std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || errno != 0 || *end != '\0') return bad("an integer");
  } else if (t == "bytes") {
    if (v != "0") WARREN_TRY(parseSize("--" + name, v));
  } else if (t == "duration") {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    std::string unit(end);
    if (v.empty() || end == v.c_str() || d < 0 ||
        !(unit == "ms" || unit == "s" || unit == "m" || unit == "h" || unit.empty())) {
      return bad("a duration like 500ms, 3s or 2m");
    }
  }
  return v;
}

}  // namespace

std::vector<std::string> defaultPluginDirs() {
  std::error_code ec;
  const std::string& dir = plugins::installLayout().plugin_dir;
  if (std::filesystem::is_directory(dir, ec)) return {dir};
  return {};
}

void discoverPluginFlags(const std::vector<std::string>& dirs, const std::string& cache) {
  registry().clear();
  errors().clear();
  plugins::HostOptions ho;
  ho.plugin_dirs = dirs;
  ho.descriptor_cache = cache;
  auto host = plugins::PluginHost::create(ho, nullptr);
  host->scan();
  std::map<std::string, std::string> owner;  // name or alias -> plugin
  for (const auto& d : host->describeAll()) {
    for (const auto& spec : d.info.flags()) {
      bool clash = false;
      std::vector<std::string> names = {spec.name()};
      names.insert(names.end(), spec.aliases().begin(), spec.aliases().end());
      for (const auto& n : names) {
        auto it = owner.find(n);
        if (it != owner.end()) {
          errors().push_back("plugin '" + d.short_name + "' declares flag --" + n + ", already declared by plugin '" +
                             it->second + "'; ignored");
          clash = true;
        }
      }
      if (clash || spec.name().empty()) continue;
      for (const auto& n : names) owner[n] = d.short_name;
      registry().push_back({d.short_name, spec});
    }
  }
}

const std::vector<PluginFlag>& pluginFlags() { return registry(); }
const std::vector<std::string>& pluginFlagErrors() { return errors(); }

po::options_description pluginFlagDescription() {
  po::options_description all("Plugin flags (declared by the plugins found; also WARREN_<NAME> and --config)");
  std::map<std::string, po::options_description> by;
  for (const auto& f : registry()) {
    auto it = by.find(f.plugin);
    if (it == by.end()) it = by.emplace(f.plugin, po::options_description("Plugin " + f.plugin)).first;
    std::vector<std::string> names = {f.spec.name()};
    names.insert(names.end(), f.spec.aliases().begin(), f.spec.aliases().end());
    for (size_t i = 0; i < names.size(); ++i) {
      std::string help = i == 0 ? helpOf(f) : "same as --" + f.spec.name();
      if (isList(f.spec)) it->second.add_options()(names[i].c_str(), po::value<std::vector<std::string>>()->composing(), help.c_str());
      else it->second.add_options()(names[i].c_str(), po::value<std::string>(), help.c_str());
    }
  }
  for (auto& [name, d] : by) all.add(d);
  return all;
}

Result<void> applyPluginFlags(const po::variables_map& vm, Options& o) {
  for (const auto& f : registry()) {
    std::vector<std::string> names = {f.spec.name()};
    names.insert(names.end(), f.spec.aliases().begin(), f.spec.aliases().end());
    for (const auto& n : names) {
      if (!vm.count(n)) continue;
      std::string value;
      if (isList(f.spec)) {
        for (const auto& x : splitList(vm[n].as<std::vector<std::string>>())) value += (value.empty() ? "" : ",") + x;
      } else {
        WARREN_ASSIGN_OR_RETURN(value, checkValue(f, n, vm[n].as<std::string>()));
      }
      o.plugin_flags[f.spec.name()] = value;
      break;  // the declared name first, then aliases in order
    }
  }
  return {};
}

}  // namespace warren::cli
