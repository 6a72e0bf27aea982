// Finds kernel objects and processes a test left behind. "Ours" means: named
// with the given tag (default: every "warren-test" object).
#pragma once

#include <string>
#include <vector>

namespace warren::testing {

// One line per leftover: "cgroup /sys/fs/cgroup/memory/warren-test-12/c1",
// "mount /tmp/warren-test-12/1/...", "link wv1234", "process 4711 (warren-init ...)".
std::vector<std::string> findResidue(const std::string& tag);

// Whether text names the tag exactly: "warren-test-12" does not match
// "/tmp/warren-test-123/..."; the suite-wide "warren-test" matches any
// "warren-test-<pid>".
bool mentionsTag(const std::string& text, const std::string& tag);

// Names in a directory (without . and ..); empty when it cannot be read.
std::vector<std::string> listDir(const std::string& path);

// Remove the (empty) per-process cgroup roots named by tag; returns leftovers
// it could not remove.
std::vector<std::string> removeCgroupRoots(const std::string& tag);

}  // namespace warren::testing
