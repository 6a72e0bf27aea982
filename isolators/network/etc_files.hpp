// /etc/hosts, /etc/hostname and /etc/resolv.conf for a top-level container,
// generated into its runtime dir and handed to warren-init as
// LaunchInfo.files (bind-mounted read-only over the container's /etc paths).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cidr.hpp"
#include "network_config.hpp"
#include "warren/sdk/result.hpp"

namespace warren::isolators::network {

std::string renderHostname(const std::string& hostname);
// localhost lines, then the container's own name on its address (bridge) or
// on 127.0.1.1 (host, none).
std::string renderHosts(const std::string& hostname, std::optional<Ipv4> addr);
// mode host: the host's file as is (its resolvers are reachable). Otherwise
// `nameservers`, or when empty the host's non-loopback name servers, plus
// the host's search/domain/options lines.
std::string renderResolvConf(Mode mode, const std::string& host_resolv,
                             const std::vector<std::string>& nameservers);

struct EtcFiles {
  std::string dir;                            // <runtime_dir>/network
  std::map<std::string, std::string> files;   // container path -> host path
};

// Writes the three files (atomically) into `dir` (created).
Result<EtcFiles> writeEtcFiles(const std::string& dir, Mode mode, const std::string& hostname,
                               std::optional<Ipv4> addr,
                               const std::vector<std::string>& nameservers);

// Removes what writeEtcFiles made (missing files are fine).
Result<void> removeEtcFiles(const std::string& dir);

}  // namespace warren::isolators::network
