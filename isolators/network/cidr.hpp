// IPv4 addresses and networks for the bridge mode's IPAM: parsing, printing
// and the host range of a CIDR (network+1 is the gateway, the rest up to the
// broadcast address is handed to containers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "warren/sdk/result.hpp"

namespace warren::isolators::network {

using Ipv4 = uint32_t;  // host byte order

Result<Ipv4> parseIpv4(std::string_view text);
std::string formatIpv4(Ipv4 addr);

struct Cidr {
  Ipv4 network = 0;
  int prefix = 0;

  Ipv4 gateway() const { return network + 1; }
  Ipv4 broadcast() const { return network | ~mask(); }
  Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
  // Addresses for containers: gateway+1 .. broadcast-1.
  Ipv4 firstHost() const { return network + 2; }
  Ipv4 lastHost() const { return broadcast() - 1; }
  bool contains(Ipv4 a) const { return (a & mask()) == network; }
  std::string str() const;  // "10.213.0.0/24"
};

// "10.213.0.0/24": the address must be the network address (no host bits)
// and the prefix at most 30 (a gateway plus at least one container).
Result<Cidr> parseCidr(std::string_view text);

}  // namespace warren::isolators::network
