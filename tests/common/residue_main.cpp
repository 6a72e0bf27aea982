// The suite's last test: nothing tagged "warren-test" may remain anywhere.
#include <cstdio>

#include "residue.hpp"

int main() {
  auto left = warren::testing::findResidue("warren-test");
  for (const auto& l : left) std::printf("residue: %s\n", l.c_str());
  if (!left.empty()) {
    std::printf("%zu leftover object(s) of the test suite\n", left.size());
    return 1;
  }
  std::printf("no residue: no cgroups, mounts, links, netns or processes of ours remain\n");
  return 0;
}
