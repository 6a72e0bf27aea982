#include "network_config.hpp"

#include <cstdio>

#include "warren/sdk/ids.hpp"

namespace warren::isolators::network {

const char* modeName(Mode m) {
  switch (m) {
    case Mode::Host: return "host";
    case Mode::None: return "none";
    case Mode::Bridge: return "bridge";
  }
  return "?";
}

Result<Mode> parseMode(const std::string& text) {
  if (text == "host") return Mode::Host;
  if (text == "none") return Mode::None;
  if (text == "bridge") return Mode::Bridge;
  return fail(Code::InvalidArgument,
              "unknown network mode '" + text + "' (expected host, none or bridge)");
}

Result<void> validateIfName(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > 15) {
    return fail(Code::InvalidArgument,
                "invalid " + what + " '" + name + "': an interface name has 1 to 15 characters");
  }
  if (name == "." || name == "..") {
    return fail(Code::InvalidArgument, "invalid " + what + " '" + name + "'");
  }
  for (char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) {
      return fail(Code::InvalidArgument,
                  "invalid " + what + " '" + name + "': no '/', ':' or whitespace allowed");
    }
  }
  return {};
}

Result<Settings> resolveSettings(const std::string& bridge, const std::string& cidr,
                                 const std::string& default_mode,
                                 const std::vector<std::string>& nameservers,
                                 const std::map<std::string, std::string>& flags) {
  auto flag = [&](const char* key) {
    auto it = flags.find(key);
    return it == flags.end() ? std::string() : it->second;
  };
  Settings s;
  std::string b = !bridge.empty() ? bridge : flag("network_bridge");
  if (!b.empty()) s.bridge = b;
  WARREN_TRY(validateIfName(s.bridge, "network bridge name"));

  std::string c = !cidr.empty() ? cidr : flag("network_cidr");
  if (!c.empty()) {
    auto parsed = parseCidr(c);
    if (!parsed) return fail(std::move(parsed.error()).context("network_cidr"));
    s.cidr = *parsed;
  }
  s.default_mode = s.cidr ? Mode::Bridge : Mode::None;
  if (!default_mode.empty()) {
    auto m = parseMode(default_mode);
    if (!m) return fail(std::move(m.error()).context("default_mode"));
    s.default_mode = *m;
  }
  if (s.default_mode == Mode::Bridge && !s.cidr) {
    return fail(Code::InvalidArgument,
                "default network mode 'bridge' needs a CIDR (--network_cidr)");
  }
  for (const auto& ns : nameservers) {
    auto a = parseIpv4(ns);
    if (!a) return fail(std::move(a.error()).context("nameservers"));
    s.nameservers.push_back(ns);
  }
  return s;
}

Result<Plan> planFor(const v1::ContainerContext& c, const Settings& s) {
  const std::string id = formatId(c.id());
  const std::string& asked = c.config().network_mode();
  Plan p;
  if (c.has_parent() || c.id().path_size() > 1) {
    if (asked.empty()) {
      p.nested = true;
      return p;
    }
    if (c.config().container_class() == v1::DEBUG) {
      return fail(Code::InvalidArgument, "container '" + id + "': network mode '" + asked +
                                             "' is not allowed for a DEBUG container (it lives in its parent's "
                                             "namespaces)");
    }
    if (asked == "host") {
      return fail(Code::InvalidArgument,
                  "container '" + id +
                      "': network mode 'host' is not allowed for a nested container (it joins its parent's "
                      "network, or asks for a namespace of its own with 'none' or 'bridge')");
    }
    p.child = true;
  }
  if (asked.empty()) {
    p.mode = s.default_mode;
  } else {
    auto m = parseMode(asked);
    if (!m) return fail(std::move(m.error()).context("container '" + id + "'"));
    p.mode = *m;
  }
  if (p.mode == Mode::Bridge && !s.cidr) {
    return fail(Code::InvalidArgument, "container '" + id +
                                           "': network mode 'bridge' needs a CIDR (--network_cidr)");
  }
  return p;
}

std::string vethName(const std::string& scope, const std::string& container_id) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over scope '\0' id
  auto mix = [&h](unsigned char ch) {
    h ^= ch;
    h *= 1099511628211ULL;
  };
  for (unsigned char ch : scope) mix(ch);
  mix(0);
  for (unsigned char ch : container_id) mix(ch);
  char buf[16];
  std::snprintf(buf, sizeof buf, "wv%012llx",
                static_cast<unsigned long long>(h & 0xffffffffffffULL));
  return buf;
}

}  // namespace warren::isolators::network
