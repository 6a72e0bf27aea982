// The userns isolator's pure part (tested without root): the operator's
// host id range, and disjoint sub-ranges of it for top-level containers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "warren/sdk/result.hpp"

namespace warren::isolators::userns {

// Host ids start .. start+count-1.
struct Range {
  uint32_t start = 0;
  uint32_t count = 0;
};

// "START:COUNT", START >= 1 (host root is never mapped), COUNT >= 1, and
// START+COUNT <= 4294967295 (uid -1 is not an id).
Result<Range> parseRange(const std::string& text);
// The ids each container gets (1 .. 4294967294).
Result<uint32_t> parseSize(const std::string& text);

// Container ID text ("pod") -> the host range it holds.
using Allocations = std::map<std::string, Range>;

// The lowest free `size`-aligned slot of `range` for `cid` (one it already
// holds is returned again). Error: none left, naming the range and holders.
Result<Range> allocate(const std::string& cid, const Range& range, uint32_t size, const Allocations& held);

// Record payload: "START COUNT\n".
std::string formatRecord(const Range& r);
Result<Range> parseRecord(const std::string& payload);

}  // namespace warren::isolators::userns
