// dependencyOrder(): the pure ordering behind PluginHost::isolators().
#include <gtest/gtest.h>

#include "host/dependency_order.hpp"

namespace warren::plugins {
namespace {

std::vector<std::string> ordered(const std::vector<DependencyNode>& nodes) {
  auto r = dependencyOrder(nodes);
  if (!r) return {"error: " + r.error().message()};
  std::vector<std::string> out;
  for (size_t i : *r) out.push_back(nodes[i].name);
  return out;
}

TEST(DependencyOrder, KeepsGivenOrderWithoutDependencies) {
  EXPECT_EQ(ordered({{"c", {}}, {"a", {}}, {"b", {}}}), (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(ordered({}), std::vector<std::string>{});
}

TEST(DependencyOrder, ReadyOnesKeepTheirRelativeOrder) {
  // cgroups/mem needs cgroups; network needs pid; volumes is free.
  EXPECT_EQ(ordered({{"network", {"pid"}}, {"cgroups/mem", {"cgroups"}}, {"volumes", {}},
                     {"pid", {}}, {"cgroups", {}}}),
            (std::vector<std::string>{"volumes", "pid", "network", "cgroups", "cgroups/mem"}));
  EXPECT_EQ(ordered({{"a", {}}, {"b", {"a"}}}), (std::vector<std::string>{"a", "b"}));
}

TEST(DependencyOrder, Errors) {
  EXPECT_EQ(ordered({{"a", {"zz"}}}),
            std::vector<std::string>{"error: isolator 'a' depends on 'zz', which is not in --isolation"});
  EXPECT_EQ(ordered({{"a", {"a"}}}),
            std::vector<std::string>{"error: isolators form a dependency cycle: a -> a"});
  EXPECT_EQ(ordered({{"free", {}}, {"x", {"tail"}}, {"tail", {"y"}}, {"y", {"tail"}}}),
            std::vector<std::string>{"error: isolators form a dependency cycle: tail -> y -> tail"});
  EXPECT_EQ(ordered({{"a", {}}, {"a", {}}}),
            std::vector<std::string>{"error: isolator 'a' is listed twice in --isolation"});
}

}  // namespace
}  // namespace warren::plugins
