#include "etc_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "warren/sdk/fs.hpp"

namespace warren::isolators::network {
namespace {

constexpr const char* kFiles[] = {"hosts", "hostname", "resolv.conf"};

bool isLoopback(const std::string& addr) {
  auto a = parseIpv4(addr);
  if (a) return (*a >> 24) == 127;
  return addr == "::1";
}

}  // namespace

std::string renderHostname(const std::string& hostname) { return hostname + "\n"; }

std::string renderHosts(const std::string& hostname, std::optional<Ipv4> addr) {
  std::string out = "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n";
  out += (addr ? formatIpv4(*addr) : std::string("127.0.1.1")) + "\t" + hostname + "\n";
  return out;
}

std::string renderResolvConf(Mode mode, const std::string& host_resolv,
                             const std::vector<std::string>& nameservers) {
  if (mode == Mode::Host) return host_resolv;
  std::string servers, rest;
  std::istringstream in(host_resolv);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, value;
    ls >> key >> value;
    if (key == "nameserver") {
      if (nameservers.empty() && !value.empty() && !isLoopback(value)) {
        servers += "nameserver " + value + "\n";
      }
    } else if (key == "search" || key == "domain" || key == "options") {
      rest += line + "\n";
    }
  }
  for (const auto& ns : nameservers) servers += "nameserver " + ns + "\n";
  return servers + rest;
}

Result<EtcFiles> writeEtcFiles(const std::string& dir, Mode mode, const std::string& hostname,
                               std::optional<Ipv4> addr,
                               const std::vector<std::string>& nameservers) {
  // The core validated a configured hostname (RFC 1123) and IDs are
  // [A-Za-z0-9_-]; still, nothing that could start a new line or field
  // reaches the container's files.
  if (hostname.empty() || hostname.find_first_of(std::string(" \t\r\n\0#", 7)) != std::string::npos) {
    return fail(Code::InvalidArgument, "hostname for /etc/hosts is empty or holds whitespace, '#' or NUL");
  }
  WARREN_TRY(fs::mkdirs(dir, 0755));
  std::string host_resolv;
  if (auto r = fs::readFile("/etc/resolv.conf")) host_resolv = *r;  // absent: no servers

  EtcFiles out;
  out.dir = dir;
  const std::pair<const char*, std::string> contents[] = {
      {"hosts", renderHosts(hostname, addr)},
      {"hostname", renderHostname(hostname)},
      {"resolv.conf", renderResolvConf(mode, host_resolv, nameservers)},
  };
  for (const auto& [name, text] : contents) {
    std::string path = dir + "/" + name;
    auto w = fs::writeFileAtomic(path, text);
    if (!w) {
      (void)removeEtcFiles(dir);
      return fail(std::move(w.error()).context("write /etc/" + std::string(name)));
    }
    out.files["/etc/" + std::string(name)] = path;
  }
  return out;
}

Result<void> removeEtcFiles(const std::string& dir) {
  Result<void> res;
  for (const char* name : kFiles) {
    std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && res) {
      res = failErrno("remove '" + path + "'");
    }
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && res) {
    res = failErrno("remove '" + dir + "'");
  }
  return res;
}

}  // namespace warren::isolators::network
