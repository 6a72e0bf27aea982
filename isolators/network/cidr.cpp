#include "cidr.hpp"

#include <charconv>

namespace warren::isolators::network {

Result<Ipv4> parseIpv4(std::string_view text) {
  Ipv4 out = 0;
  std::string_view rest = text;
  for (int i = 0; i < 4; ++i) {
    size_t dot = rest.find('.');
    std::string_view part = i < 3 ? rest.substr(0, dot) : rest;
    if ((i < 3 && dot == std::string_view::npos) || part.empty() || part.size() > 3) {
      return fail(Code::InvalidArgument, "'" + std::string(text) + "' is not an IPv4 address");
    }
    unsigned v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size() || v > 255) {
      return fail(Code::InvalidArgument, "'" + std::string(text) + "' is not an IPv4 address");
    }
    out = (out << 8) | v;
    if (i < 3) rest.remove_prefix(dot + 1);
  }
  return out;
}

std::string formatIpv4(Ipv4 a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

std::string Cidr::str() const { return formatIpv4(network) + "/" + std::to_string(prefix); }

Result<Cidr> parseCidr(std::string_view text) {
  const std::string what = "invalid CIDR '" + std::string(text) + "'";
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail(Code::InvalidArgument, what + ": expected ADDRESS/PREFIX, e.g. 10.213.0.0/24");
  }
  auto addr = parseIpv4(text.substr(0, slash));
  if (!addr) return fail(Code::InvalidArgument, what + ": " + addr.error().message());
  std::string_view ptext = text.substr(slash + 1);
  int prefix = -1;
  auto [p, ec] = std::from_chars(ptext.data(), ptext.data() + ptext.size(), prefix);
  if (ptext.empty() || ec != std::errc() || p != ptext.data() + ptext.size() || prefix < 0 ||
      prefix > 32) {
    return fail(Code::InvalidArgument, what + ": the prefix must be a number from 0 to 32");
  }
  if (prefix > 30) {
    return fail(Code::InvalidArgument,
                what + ": the prefix must be at most 30 (a gateway and at least one container)");
  }
  Cidr c{*addr, prefix};
  if ((c.network & c.mask()) != c.network) {
    return fail(Code::InvalidArgument, what + ": host bits are set (did you mean " +
                                           formatIpv4(c.network & c.mask()) + "/" +
                                           std::to_string(prefix) + "?)");
  }
  return c;
}

}  // namespace warren::isolators::network
