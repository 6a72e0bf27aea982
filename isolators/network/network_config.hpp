// The network isolator's effective settings (its typed config over the
// operator flags), the mode a container gets, and the names derived from a
// container ID. No kernel access here: unit-testable without root.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cidr.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::isolators::network {

enum class Mode { Host, None, Bridge };

const char* modeName(Mode m);
Result<Mode> parseMode(const std::string& text);

struct Settings {
  std::string bridge = "warren0";
  std::optional<Cidr> cidr;  // bridge mode needs one
  Mode default_mode = Mode::None;
  std::vector<std::string> nameservers;  // empty: the host's
};

// Config fields win over flags (network_bridge, network_cidr). Errors name
// the bad field: an invalid CIDR, bridge name, default mode or name server,
// or default mode "bridge" without a CIDR.
Result<Settings> resolveSettings(const std::string& bridge, const std::string& cidr,
                                 const std::string& default_mode,
                                 const std::vector<std::string>& nameservers,
                                 const std::map<std::string, std::string>& flags);

// What a container gets. A nested container joins its parent's network
// unless it asks for "none" or "bridge" (a network namespace of its own,
// issue #18); "host" there, or any mode for a DEBUG container, is an
// InvalidArgument.
struct Plan {
  bool nested = false;     // joins its parent's network namespace
  Mode mode = Mode::None;  // otherwise: its own (or the host's) network
  bool child = false;      // a nested container with a network of its own
};
Result<Plan> planFor(const v1::ContainerContext& c, const Settings& s);

// Host end of a container's veth pair: "wv" + 12 hex digits of a hash of
// the scope (the plugin's work dir: one per warren instance, so two
// instances with a container of the same ID never share a name) and the ID.
// 14 characters, under IFNAMSIZ.
std::string vethName(const std::string& scope, const std::string& container_id);

// A valid Linux interface name (1-15 characters, no '/', ':' or whitespace).
Result<void> validateIfName(const std::string& name, const std::string& what);

}  // namespace warren::isolators::network
