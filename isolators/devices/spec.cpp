#include "spec.hpp"

#include <dirent.h>
#include <yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <set>

#include "warren/sdk/fs.hpp"

namespace warren::isolators::cdi {
namespace {

using json = nlohmann::json;

// ------------------------------------------------------------------ YAML

nlohmann::json scalar(const yaml_event_t& e) {
  std::string v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return v;
  if (v == "null" || v == "~" || v.empty()) return nullptr;
  if (v == "true") return true;
  if (v == "false") return false;
  int64_t n = 0;
  const char* b = v.data();
  const char* end = v.data() + v.size();
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'o' || v[1] == 'x')) {
    base = v[1] == 'o' ? 8 : 16;
    b += 2;
  }
  auto [p, ec] = std::from_chars(b, end, n, base);
  if (ec == std::errc() && p == end) return n;
  return v;
}

// Builds one JSON value from libyaml's event stream (recursive descent).
class YamlReader {
 public:
  explicit YamlReader(const std::string& text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~YamlReader() { yaml_parser_delete(&parser_); }

  Result<json> document() {
    // STREAM-START, DOCUMENT-START, value, DOCUMENT-END
    for (int i = 0; i < 2; ++i) {
      WARREN_ASSIGN_OR_RETURN(auto t, next());
      if (t == YAML_STREAM_END_EVENT) return fail(Code::InvalidArgument, "empty YAML document");
    }
    WARREN_ASSIGN_OR_RETURN(auto t, next());
    return value(t);
  }

 private:
  Result<yaml_event_type_t> next() {
    yaml_event_delete(&event_);
    if (!yaml_parser_parse(&parser_, &event_)) {
      return fail(Code::InvalidArgument,
                  "YAML line " + std::to_string(parser_.problem_mark.line + 1) + ": " +
                      (parser_.problem ? parser_.problem : "parse error"));
    }
    return event_.type;
  }

  Result<json> value(yaml_event_type_t t) {
    if (++depth_ > 64) return fail(Code::InvalidArgument, "YAML nested too deeply");
    json out;
    switch (t) {
      case YAML_SCALAR_EVENT: out = scalar(event_); break;
      case YAML_SEQUENCE_START_EVENT: {
        out = json::array();
        for (;;) {
          WARREN_ASSIGN_OR_RETURN(auto n, next());
          if (n == YAML_SEQUENCE_END_EVENT) break;
          WARREN_ASSIGN_OR_RETURN(auto v, value(n));
          out.push_back(std::move(v));
        }
        break;
      }
      case YAML_MAPPING_START_EVENT: {
        out = json::object();
        for (;;) {
          WARREN_ASSIGN_OR_RETURN(auto n, next());
          if (n == YAML_MAPPING_END_EVENT) break;
          if (n != YAML_SCALAR_EVENT) return fail(Code::InvalidArgument, "YAML mapping key is not a scalar");
          std::string key(reinterpret_cast<const char*>(event_.data.scalar.value), event_.data.scalar.length);
          WARREN_ASSIGN_OR_RETURN(auto vt, next());
          WARREN_ASSIGN_OR_RETURN(auto v, value(vt));
          out[key] = std::move(v);
        }
        break;
      }
      case YAML_ALIAS_EVENT: return fail(Code::InvalidArgument, "YAML aliases are not supported");
      default: return fail(Code::InvalidArgument, "unexpected YAML event");
    }
    --depth_;
    return out;
  }

  yaml_parser_t parser_{};
  yaml_event_t event_{};
  int depth_ = 0;
};

// ------------------------------------------------------------------ fields

bool validKind(const std::string& k) {
  auto slash = k.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == k.size()) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    char c = k[i];
    if (i == slash) continue;
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  }
  return std::isalnum(static_cast<unsigned char>(k[0])) &&
         std::isalnum(static_cast<unsigned char>(k[slash + 1]));
}

bool validName(const std::string& n) {
  if (n.empty() || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == ':';
  });
}

Error bad(const std::string& where, const std::string& what) {
  return Error(Code::InvalidArgument, where + ": " + what);
}

Result<std::string> str(const json& o, const char* key, const std::string& where, bool required) {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) return tl::unexpected(bad(where, std::string("no ") + key));
    return std::string();
  }
  if (!o[key].is_string()) return tl::unexpected(bad(where + "." + key, "is not a string"));
  return o[key].get<std::string>();
}

Result<std::vector<std::string>> strings(const json& o, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!o.contains(key) || o[key].is_null()) return out;
  if (!o[key].is_array()) return tl::unexpected(bad(where + "." + key, "is not a list"));
  for (size_t i = 0; i < o[key].size(); ++i) {
    if (!o[key][i].is_string()) {
      return tl::unexpected(bad(where + "." + key + "[" + std::to_string(i) + "]", "is not a string"));
    }
    out.push_back(o[key][i].get<std::string>());
  }
  return out;
}

Result<int64_t> integer(const json& o, const char* key, const std::string& where) {
  if (!o.contains(key) || o[key].is_null()) return -1;
  if (!o[key].is_number_integer() || o[key].get<int64_t>() < 0) {
    return tl::unexpected(bad(where + "." + key, "is not a non-negative integer"));
  }
  return o[key].get<int64_t>();
}

Result<void> onlyKeys(const json& o, const std::string& where, std::initializer_list<const char*> keys) {
  if (!o.is_object()) return tl::unexpected(bad(where, "is not an object"));
  for (const auto& [k, v] : o.items()) {
    bool known = false;
    for (const char* key : keys) known = known || k == key;
    if (!known) return tl::unexpected(bad(where, "unsupported field '" + k + "'"));
  }
  return {};
}

template <typename T, typename F>
Result<std::vector<T>> list(const json& o, const char* key, const std::string& where, F each) {
  std::vector<T> out;
  if (!o.contains(key) || o[key].is_null()) return out;
  if (!o[key].is_array()) return tl::unexpected(bad(where + "." + key, "is not a list"));
  for (size_t i = 0; i < o[key].size(); ++i) {
    WARREN_ASSIGN_OR_RETURN(T v, each(o[key][i], where + "." + key + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(v));
  }
  return out;
}

Result<DeviceNode> deviceNode(const json& o, const std::string& w) {
  WARREN_TRY(onlyKeys(o, w, {"path", "hostPath", "type", "major", "minor", "permissions", "fileMode",
                             "uid", "gid"}));
  DeviceNode d;
  WARREN_ASSIGN_OR_RETURN(d.path, str(o, "path", w, true));
  WARREN_ASSIGN_OR_RETURN(d.host_path, str(o, "hostPath", w, false));
  WARREN_ASSIGN_OR_RETURN(d.type, str(o, "type", w, false));
  WARREN_ASSIGN_OR_RETURN(d.major, integer(o, "major", w));
  WARREN_ASSIGN_OR_RETURN(d.minor, integer(o, "minor", w));
  WARREN_ASSIGN_OR_RETURN(d.permissions, str(o, "permissions", w, false));
  if (d.path.empty() || d.path[0] != '/') return tl::unexpected(bad(w + ".path", "must be absolute"));
  if (!d.type.empty() && d.type != "c" && d.type != "b" && d.type != "u") {
    return tl::unexpected(bad(w + ".type", "'" + d.type + "' is not c, b or u"));
  }
  if (d.type == "u") d.type = "c";
  if (d.permissions.find_first_not_of("rwm") != std::string::npos) {
    return tl::unexpected(bad(w + ".permissions", "'" + d.permissions + "' is not a subset of rwm"));
  }
  return d;
}

Result<MountEdit> mountEdit(const json& o, const std::string& w) {
  WARREN_TRY(onlyKeys(o, w, {"hostPath", "containerPath", "type", "options"}));
  MountEdit m;
  WARREN_ASSIGN_OR_RETURN(m.host_path, str(o, "hostPath", w, true));
  WARREN_ASSIGN_OR_RETURN(m.container_path, str(o, "containerPath", w, true));
  WARREN_ASSIGN_OR_RETURN(m.type, str(o, "type", w, false));
  WARREN_ASSIGN_OR_RETURN(m.options, strings(o, "options", w));
  if (m.container_path.empty() || m.container_path[0] != '/') {
    return tl::unexpected(bad(w + ".containerPath", "must be absolute"));
  }
  return m;
}

Result<Hook> hook(const json& o, const std::string& w) {
  WARREN_TRY(onlyKeys(o, w, {"hookName", "path", "args", "env", "timeout"}));
  Hook h;
  WARREN_ASSIGN_OR_RETURN(h.hook_name, str(o, "hookName", w, true));
  WARREN_ASSIGN_OR_RETURN(h.path, str(o, "path", w, true));
  WARREN_ASSIGN_OR_RETURN(h.args, strings(o, "args", w));
  WARREN_ASSIGN_OR_RETURN(h.env, strings(o, "env", w));
  static const std::set<std::string> kNames = {"prestart", "createRuntime", "createContainer",
                                               "startContainer", "poststart", "poststop"};
  if (!kNames.count(h.hook_name)) return tl::unexpected(bad(w + ".hookName", "unknown hook '" + h.hook_name + "'"));
  return h;
}

Result<ContainerEdits> edits(const json& o, const std::string& w) {
  ContainerEdits e;
  if (o.is_null()) return e;
  WARREN_TRY(onlyKeys(o, w, {"env", "deviceNodes", "mounts", "hooks"}));
  WARREN_ASSIGN_OR_RETURN(e.env, strings(o, "env", w));
  for (size_t i = 0; i < e.env.size(); ++i) {
    if (e.env[i].find('=') == std::string::npos || e.env[i][0] == '=') {
      return tl::unexpected(bad(w + ".env[" + std::to_string(i) + "]", "'" + e.env[i] + "' is not K=V"));
    }
  }
  WARREN_ASSIGN_OR_RETURN(e.device_nodes, list<DeviceNode>(o, "deviceNodes", w, deviceNode));
  WARREN_ASSIGN_OR_RETURN(e.mounts, list<MountEdit>(o, "mounts", w, mountEdit));
  WARREN_ASSIGN_OR_RETURN(e.hooks, list<Hook>(o, "hooks", w, hook));
  return e;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<nlohmann::json> parseText(const std::string& text, bool yaml) {
  if (yaml) return YamlReader(text).document();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(Code::InvalidArgument, "not valid JSON");
  return doc;
}

Result<Spec> specFromJson(const nlohmann::json& doc) {
  WARREN_TRY(onlyKeys(doc, "spec", {"cdiVersion", "kind", "devices", "containerEdits", "annotations"}));
  Spec s;
  WARREN_ASSIGN_OR_RETURN(auto version, str(doc, "cdiVersion", "spec", true));
  if (version.rfind("0.", 0) != 0) return fail(Code::InvalidArgument, "cdiVersion '" + version + "' is not supported");
  WARREN_ASSIGN_OR_RETURN(s.kind, str(doc, "kind", "spec", true));
  if (!validKind(s.kind)) {
    return fail(Code::InvalidArgument, "kind '" + s.kind + "' is not vendor.com/class");
  }
  if (doc.contains("containerEdits")) {
    WARREN_ASSIGN_OR_RETURN(s.edits, edits(doc["containerEdits"], "containerEdits"));
  }
  if (!doc.contains("devices") || !doc["devices"].is_array() || doc["devices"].empty()) {
    return fail(Code::InvalidArgument, "devices: must be a non-empty list");
  }
  for (size_t i = 0; i < doc["devices"].size(); ++i) {
    const json& d = doc["devices"][i];
    std::string w = "devices[" + std::to_string(i) + "]";
    WARREN_TRY(onlyKeys(d, w, {"name", "containerEdits", "annotations"}));
    WARREN_ASSIGN_OR_RETURN(auto name, str(d, "name", w, true));
    if (!validName(name)) return fail(Code::InvalidArgument, w + ".name: '" + name + "' is not a valid device name");
    if (!d.contains("containerEdits")) return fail(Code::InvalidArgument, w + ": no containerEdits");
    WARREN_ASSIGN_OR_RETURN(auto e, edits(d["containerEdits"], w + ".containerEdits"));
    if (!s.devices.emplace(name, std::move(e)).second) {
      return fail(Code::InvalidArgument, w + ": device '" + name + "' is defined twice");
    }
  }
  return s;
}

Result<std::pair<std::string, std::string>> parseDeviceName(const std::string& q) {
  auto eq = q.find('=');
  std::string kind = q.substr(0, eq);
  std::string name = eq == std::string::npos ? "" : q.substr(eq + 1);
  if (eq == std::string::npos || !validKind(kind) || !validName(name)) {
    return fail(Code::InvalidArgument,
                "CDI device '" + q + "' is not a qualified name vendor.com/class=name");
  }
  return std::make_pair(kind, name);
}

Result<Registry> loadRegistry(const std::vector<std::string>& dirs) {
  Registry reg;
  for (const auto& dir : dirs) {
    std::vector<std::string> files;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (endsWith(n, ".json") || endsWith(n, ".yaml") || endsWith(n, ".yml")) files.push_back(n);
      }
      ::closedir(d);
    }  // a missing directory has no specs
    std::sort(files.begin(), files.end());
    std::set<std::string> in_this_dir;
    for (const auto& n : files) {
      std::string path = dir + "/" + n;
      auto text = fs::readFile(path);
      if (!text) return fail(std::move(text.error()).context("CDI spec '" + path + "'"));
      auto doc = parseText(*text, !endsWith(n, ".json"));
      if (!doc) return fail(std::move(doc.error()).context("CDI spec '" + path + "'"));
      auto spec = specFromJson(*doc);
      if (!spec) return fail(std::move(spec.error()).context("CDI spec '" + path + "'"));
      spec->file = path;
      size_t idx = reg.specs.size();
      for (const auto& [name, e] : spec->devices) {
        std::string q = spec->kind + "=" + name;
        if (!in_this_dir.insert(q).second) {
          return fail(Code::InvalidArgument, "CDI spec '" + path + "': device '" + q +
                                                 "' is also defined by another spec in " + dir);
        }
        reg.devices[q] = {idx, name};
      }
      reg.specs.push_back(std::move(*spec));
    }
  }
  return reg;
}

}  // namespace warren::isolators::cdi
