#include "host/dependency_order.hpp"

#include <map>

namespace warren::plugins {
namespace {

// A cycle reachable from `start` among unplaced nodes, as "a -> b -> a".
std::string findCycle(const std::vector<DependencyNode>& nodes,
                      const std::map<std::string, size_t>& index,
                      const std::vector<bool>& placed, size_t start) {
  // Every unplaced node has an unplaced dependency, so walking first
  // unplaced dependencies must revisit a node.
  std::vector<size_t> path;
  std::vector<int> seen_at(nodes.size(), -1);
  size_t cur = start;
  while (seen_at[cur] < 0) {
    seen_at[cur] = static_cast<int>(path.size());
    path.push_back(cur);
    for (const auto& dep : nodes[cur].dependencies) {
      size_t j = index.at(dep);
      if (!placed[j]) {
        cur = j;
        break;
      }
    }
  }
  std::string text;
  for (size_t k = static_cast<size_t>(seen_at[cur]); k < path.size(); ++k) {
    text += nodes[path[k]].name + " -> ";
  }
  return text + nodes[cur].name;
}

}  // namespace

Result<std::vector<size_t>> dependencyOrder(const std::vector<DependencyNode>& nodes) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!index.emplace(nodes[i].name, i).second) {
      return fail(Code::InvalidArgument,
                  "isolator '" + nodes[i].name + "' is listed twice in --isolation");
    }
  }
  for (const auto& n : nodes) {
    for (const auto& dep : n.dependencies) {
      if (index.count(dep) == 0) {
        return fail(Code::InvalidArgument, "isolator '" + n.name + "' depends on '" + dep +
                                               "', which is not in --isolation");
      }
    }
  }
  // Repeatedly place the first node (in the given order) whose dependencies
  // are all placed: stable, and O(n^2) for the handful of isolators we have.
  std::vector<bool> placed(nodes.size(), false);
  std::vector<size_t> order;
  while (order.size() < nodes.size()) {
    bool progress = false;
    for (size_t i = 0; i < nodes.size() && !progress; ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& dep : nodes[i].dependencies) ready = ready && placed[index.at(dep)];
      if (ready) {
        placed[i] = true;
        order.push_back(i);
        progress = true;
      }
    }
    if (!progress) {
      size_t first = 0;
      while (placed[first]) ++first;
      return fail(Code::InvalidArgument, "isolators form a dependency cycle: " +
                                             findCycle(nodes, index, placed, first));
    }
  }
  return order;
}

}  // namespace warren::plugins
