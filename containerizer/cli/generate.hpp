// Man page and shell completions generated from the parser's own option
// descriptions (`warren __generate man|bash|zsh`, run by the build): they
// cannot drift from what the parser accepts.
#pragma once

#include <string>
#include <vector>

namespace warren::cli {

// Prints the requested document on stdout; returns the exit code.
int generate(const std::vector<std::string>& what);

}  // namespace warren::cli
