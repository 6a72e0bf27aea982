#include "limits.hpp"

#include "devices_bpf.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace warren::isolators::cgroups {

namespace {

std::string fmtCpus(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", c);
  return buf;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

Result<void> validateCpuList(const std::string& key, const std::string& v) {
  // "0-3,5,7-8"
  if (v.empty()) return fail(Code::InvalidArgument, "setting " + key + " is empty");
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || c == ',' || c == '-')) {
      return fail(Code::InvalidArgument, "setting " + key + "='" + v +
                                             "' is not a list like 0-3,5");
    }
  }
  return {};
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<int64_t> parseInt(const std::string& key, const std::string& v, int64_t lo, int64_t hi) {
  std::string t = trim(v);
  bool neg = !t.empty() && t[0] == '-';
  if (!allDigits(std::string_view(t).substr(neg ? 1 : 0)) || t.size() > 12) {
    return fail(Code::InvalidArgument, "setting " + key + "='" + v + "' is not an integer");
  }
  int64_t n = std::stoll(t);
  if (n < lo || n > hi) {
    return fail(Code::InvalidArgument, "setting " + key + "=" + t + " is outside " + std::to_string(lo) +
                                           ".." + std::to_string(hi));
  }
  return n;
}

// "8:0 rbps=1M wbps=512k riops=100 wiops=100; 254:16 rbps=10M"
Result<std::vector<IoMax>> parseIoMax(const std::string& key, const std::string& value) {
  std::vector<IoMax> out;
  std::istringstream entries(value);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    if (trim(entry).empty()) continue;
    std::istringstream words(entry);
    IoMax m;
    words >> m.device;
    auto colon = m.device.find(':');
    if (colon == std::string::npos || !allDigits(std::string_view(m.device).substr(0, colon)) ||
        !allDigits(std::string_view(m.device).substr(colon + 1))) {
      return fail(Code::InvalidArgument, "setting " + key + ": device '" + m.device +
                                             "' is not MAJOR:MINOR (e.g. 8:0; see lsblk)");
    }
    std::string kv;
    while (words >> kv) {
      auto eq = kv.find('=');
      std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
      uint64_t* slot = k == "rbps" ? &m.rbps : k == "wbps" ? &m.wbps : k == "riops" ? &m.riops
                       : k == "wiops" ? &m.wiops : nullptr;
      if (slot == nullptr) {
        return fail(Code::InvalidArgument, "setting " + key + ": unknown cap '" + k + "' for device " +
                                               m.device + " (known: rbps, wbps, riops, wiops)");
      }
      if (k == "rbps" || k == "wbps") {
        auto s = parseSize(v);
        if (!s) return fail(Code::InvalidArgument, "setting " + key + ": " + k + ": " + s.error().message());
        *slot = *s;
      } else {
        WARREN_ASSIGN_OR_RETURN(int64_t n, parseInt(key + " " + k, v, 1, int64_t{1} << 40));
        *slot = static_cast<uint64_t>(n);
      }
    }
    if (m.rbps == 0 && m.wbps == 0 && m.riops == 0 && m.wiops == 0) {
      return fail(Code::InvalidArgument, "setting " + key + ": device " + m.device + " has no cap");
    }
    out.push_back(m);
  }
  if (out.empty()) return fail(Code::InvalidArgument, "setting " + key + " is empty");
  return out;
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text) {
  std::string t = trim(text);
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "invalid size '" + std::string(text) + "': " + why);
  };
  if (t.empty()) return bad("empty");
  if (t[0] == '-') return bad("negative");
  size_t i = 0;
  bool dot = false;
  while (i < t.size() && ((t[i] >= '0' && t[i] <= '9') || (t[i] == '.' && !dot))) {
    if (t[i] == '.') dot = true;
    ++i;
  }
  std::string num = t.substr(0, i);
  std::string unit = trim(t.substr(i));
  if (num.empty() || num == ".") return bad("no number");
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  long double mult = 1;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else {
    static const char* kUnits = "kmgtp";
    size_t p = std::string_view(kUnits).find(unit[0]);
    if (p == std::string_view::npos) return bad("unknown unit '" + unit + "'");
    std::string rest = unit.substr(1);
    if (!(rest.empty() || rest == "b" || rest == "ib")) return bad("unknown unit '" + unit + "'");
    mult = std::pow(1024.0L, static_cast<long double>(p + 1));
  }
  long double v = std::strtold(num.c_str(), nullptr) * mult;
  if (!std::isfinite(v) || v >= 18446744073709551615.0L) return bad("too large");
  uint64_t bytes = static_cast<uint64_t>(std::llroundl(v));
  if (bytes == 0) return bad("must be greater than zero");
  return bytes;
}

std::string formatSize(uint64_t bytes) {
  static const char* kNames[] = {"KiB", "MiB", "GiB", "TiB"};
  std::string out = std::to_string(bytes);
  uint64_t unit = 1024;
  for (const char* n : kNames) {
    if (bytes >= unit && bytes % unit == 0) out = std::to_string(bytes / unit) + n;
    if (unit > (UINT64_MAX >> 10)) break;
    unit <<= 10;
  }
  return out;
}

Result<void> validateDeviceRule(std::string_view rule) {
  auto r = devices::parseRule(std::string(rule));
  if (!r) return fail(std::move(r.error()));
  return {};
}

Result<Limits> limitsFromResources(const v1::Resources& res) {
  Limits l;
  if (!std::isfinite(res.cpus()) || res.cpus() < 0) {
    return fail(Code::InvalidArgument, "resources.cpus=" + fmtCpus(res.cpus()) +
                                           " is invalid: must be a positive number");
  }
  if (res.cpus() > 0 && res.cpus() < kMinCpus) {
    return fail(Code::InvalidArgument, "resources.cpus=" + fmtCpus(res.cpus()) +
                                           " is below the minimum of " + fmtCpus(kMinCpus));
  }
  if (res.cpus() > kMaxCpus) {
    return fail(Code::InvalidArgument, "resources.cpus=" + fmtCpus(res.cpus()) +
                                           " is above the maximum of " + fmtCpus(kMaxCpus));
  }
  if (res.mem_bytes() > 0 && res.mem_bytes() < kMinMemBytes) {
    return fail(Code::InvalidArgument, "resources.mem_bytes=" + std::to_string(res.mem_bytes()) +
                                           " is below the minimum of " + formatSize(kMinMemBytes));
  }
  if (res.mem_bytes() >= (1ULL << 62)) {
    return fail(Code::InvalidArgument, "resources.mem_bytes=" + std::to_string(res.mem_bytes()) +
                                           " is too large");
  }
  if (res.pids() > 0 && res.pids() < kMinPids) {
    return fail(Code::InvalidArgument, "resources.pids=" + std::to_string(res.pids()) +
                                           " is below the minimum of 2 (warren-init and the command)");
  }
  if (res.pids() >= (1ULL << 31)) {
    return fail(Code::InvalidArgument, "resources.pids=" + std::to_string(res.pids()) + " is too large");
  }
  l.cpus = res.cpus();
  l.mem_bytes = res.mem_bytes();
  l.pids = res.pids();
  return l;
}

Result<Limits> limitsFromConfig(const v1::ContainerConfig& config) {
  WARREN_ASSIGN_OR_RETURN(Limits l, limitsFromResources(config.resources()));
  for (const auto& [key, value] : config.isolator_settings()) {
    if (key.rfind("cgroups.", 0) != 0) continue;
    std::string k = key.substr(8);
    if (k == "cpuset_cpus") {
      WARREN_TRY(validateCpuList(key, value));
      l.cpuset_cpus = value;
    } else if (k == "cpuset_mems") {
      WARREN_TRY(validateCpuList(key, value));
      l.cpuset_mems = value;
    } else if (k == "memory_swap") {
      auto s = parseSize(value);
      if (!s) return fail(Code::InvalidArgument, "setting " + key + ": " + s.error().message());
      if (l.mem_bytes == 0) {
        return fail(Code::InvalidArgument, "setting " + key + " needs resources.mem_bytes");
      }
      l.swap_bytes = *s;
    } else if (k == "devices_allow") {
      std::istringstream in(value);
      std::string rule;
      while (std::getline(in, rule, ';')) {
        if (trim(rule).empty()) continue;
        auto r = validateDeviceRule(rule);
        if (!r) return fail(Code::InvalidArgument, "setting " + key + ": " + r.error().message());
        l.extra_devices.push_back(trim(rule));
      }
    } else if (k == "io_weight") {
      WARREN_ASSIGN_OR_RETURN(int64_t w, parseInt(key, value, 1, 10000));
      l.io_weight = static_cast<uint32_t>(w);
    } else if (k == "io_max") {
      WARREN_ASSIGN_OR_RETURN(l.io_max, parseIoMax(key, value));
    } else if (k == "oom_score_adj") {
      WARREN_ASSIGN_OR_RETURN(int64_t a, parseInt(key, value, -1000, 1000));
      l.has_oom_score_adj = true;
      l.oom_score_adj = static_cast<int>(a);
    } else if (k == "share_parent") {
      if (value != "true" && value != "false") {
        return fail(Code::InvalidArgument, "setting " + key + "='" + value + "' is not true or false");
      }
      l.share_parent = value == "true";
    } else {
      return fail(Code::InvalidArgument,
                  "unknown setting '" + key +
                      "' (known: cgroups.cpuset_cpus, cgroups.cpuset_mems, cgroups.memory_swap, "
                      "cgroups.devices_allow, cgroups.io_weight, cgroups.io_max, cgroups.oom_score_adj, "
                      "cgroups.share_parent)");
    }
  }
  return l;
}

Result<void> checkWithin(const Limits& child, const std::string& child_id, const Limits& parent,
                         const std::string& parent_id, const std::string& relation) {
  auto over = [&](const std::string& what, const std::string& c, const std::string& p) {
    return fail(Code::InvalidArgument, what + " " + c + " of '" + child_id +
                                           "' exceeds the limit " + p + " of its " + relation + " '" +
                                           parent_id + "'");
  };
  if (child.cpus > 0 && parent.cpus > 0 && child.cpus > parent.cpus + 1e-9) {
    return over("resources.cpus", fmtCpus(child.cpus), fmtCpus(parent.cpus));
  }
  if (child.mem_bytes > 0 && parent.mem_bytes > 0 && child.mem_bytes > parent.mem_bytes) {
    return over("resources.mem_bytes", formatSize(child.mem_bytes), formatSize(parent.mem_bytes));
  }
  if (child.pids > 0 && parent.pids > 0 && child.pids > parent.pids) {
    return over("resources.pids", std::to_string(child.pids), std::to_string(parent.pids));
  }
  return {};
}

std::string serializeLimits(const Limits& l) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", l.cpus);
  std::string out = "cpus=" + std::string(buf) + "\nmem=" + std::to_string(l.mem_bytes) +
                    "\npids=" + std::to_string(l.pids) + "\n";
  if (l.cfs >= 0) {
    out += "cfs=" + std::to_string(l.cfs) + "\ncfs_period_us=" + std::to_string(l.cfs_period_us) + "\n";
  }
  return out;
}

Limits parseLimits(const std::string& text) {
  Limits l;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "cpus") l.cpus = std::strtod(v.c_str(), nullptr);
    if (k == "mem") l.mem_bytes = std::strtoull(v.c_str(), nullptr, 10);
    if (k == "pids") l.pids = std::strtoull(v.c_str(), nullptr, 10);
    if (k == "cfs") l.cfs = v == "1" ? 1 : 0;
    if (k == "cfs_period_us") l.cfs_period_us = std::strtoull(v.c_str(), nullptr, 10);
  }
  return l;
}

}  // namespace warren::isolators::cgroups
