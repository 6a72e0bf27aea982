#include "allocation.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::isolators::gpu {
namespace {

std::string plural(uint32_t n) { return std::to_string(n) + (n == 1 ? " GPU" : " GPUs"); }

bool isChildOf(const std::string& id, const std::string& parent) {
  return id.size() > parent.size() + 1 && id.compare(0, parent.size() + 1, parent + ".") == 0 &&
         id.find('.', parent.size() + 1) == std::string::npos;
}

}  // namespace

std::string formatMinors(const std::vector<uint32_t>& minors) {
  std::string s;
  for (uint32_t m : minors) s += (s.empty() ? "" : ",") + std::to_string(m);
  return s;
}

Result<std::vector<uint32_t>> allocate(const v1::ContainerID& id, uint32_t count,
                                       const std::vector<uint32_t>& host_gpus,
                                       const Allocations& held) {
  const std::string cid = formatId(id);
  std::vector<uint32_t> pool = host_gpus;
  std::string owner = "this host";
  std::string parent;
  if (hasParent(id)) {
    parent = formatId(parentOf(id));
    auto it = held.find(parent);
    if (it == held.end() || it->second.empty()) {
      return fail(Code::FailedPrecondition, "container '" + cid + "' asks for " + plural(count) +
                                                " but its parent '" + parent + "' has none");
    }
    pool = it->second;
    owner = "its parent '" + parent + "'";
  }
  std::sort(pool.begin(), pool.end());
  if (count > pool.size()) {
    return fail(Code::InvalidArgument, "container '" + cid + "' asks for " + plural(count) + " but " +
                                           owner + " has " + plural(pool.size()));
  }
  // Held by the siblings (top-level: other top-level containers).
  std::set<uint32_t> taken;
  std::string holders;
  for (const auto& [other, minors] : held) {
    bool sibling = parent.empty() ? other.find('.') == std::string::npos : isChildOf(other, parent);
    if (!sibling || other == cid || minors.empty()) continue;
    taken.insert(minors.begin(), minors.end());
    holders += (holders.empty() ? "" : ", ") + other + " (" + formatMinors(minors) + ")";
  }
  std::vector<uint32_t> out;
  for (uint32_t m : pool) {
    if (out.size() < count && !taken.count(m)) out.push_back(m);
  }
  if (out.size() < count) {
    return fail(Code::Unavailable, "container '" + cid + "' asks for " + plural(count) + " but only " +
                                       std::to_string(out.size()) + " of the " + plural(pool.size()) +
                                       " of " + owner + " are free (held by " + holders + ")");
  }
  return out;
}

Result<Allocations> loadRecords(const std::string& dir) {
  Allocations all;
  WARREN_ASSIGN_OR_RETURN(std::vector<std::string> names, record::listNames(dir, "GPU records"));
  for (const auto& n : names) {
    auto text = fs::readFile(dir + "/" + n);
    if (!text) continue;  // removed meanwhile
    std::vector<uint32_t> minors;
    size_t i = 0;
    const std::string& t = *text;
    while (i < t.size()) {
      size_t j = t.find_first_of(",\n", i);
      if (j == std::string::npos) j = t.size();
      if (j > i) {
        uint32_t m = 0;
        auto [end, ec] = std::from_chars(t.data() + i, t.data() + j, m);
        if (ec != std::errc() || end != t.data() + j) {
          return fail(Code::Internal, "GPU record '" + dir + "/" + n + "' is corrupt: '" + t + "'");
        }
        minors.push_back(m);
      }
      i = j + 1;
    }
    all[n] = std::move(minors);
  }
  return all;
}

Result<void> writeRecord(const std::string& dir, const std::string& id,
                         const std::vector<uint32_t>& minors) {
  return fs::writeFileAtomic(dir + "/" + id, formatMinors(minors) + "\n");
}

void removeRecord(const std::string& dir, const std::string& id) {
  ::unlink((dir + "/" + id).c_str());
}

}  // namespace warren::isolators::gpu
