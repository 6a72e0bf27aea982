#include "sandbox_dirs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "warren/sdk/fd.hpp"

namespace warren::volumes {
namespace {

std::vector<std::string> components(const std::string& relative) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= relative.size()) {
    size_t slash = relative.find('/', start);
    if (slash == std::string::npos) slash = relative.size();
    if (slash > start) out.push_back(relative.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Open `name` under `dir` as a directory, never following a symlink.
// Returns -1 with errno set; ELOOP/ENOTDIR when it is not a real directory.
int openDirNoFollow(int dir, const std::string& name) {
  return ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

Result<void> walk(const std::string& base, const std::string& relative, bool create,
                  std::vector<std::string>* created) {
  UniqueFd cur(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return failErrno("open sandbox '" + base + "'");
  std::string shown = base;
  for (const auto& comp : components(relative)) {
    shown += "/" + comp;
    int fd = openDirNoFollow(cur.get(), comp);
    if (fd < 0 && errno == ENOENT) {
      if (!create) return {};  // the rest does not exist yet: nothing to check
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) {
        return failErrno("mkdir '" + shown + "'");
      }
      if (created != nullptr) created->push_back(shown);
      fd = openDirNoFollow(cur.get(), comp);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return fail(Code::InvalidArgument,
                    "'" + shown + "' is a symlink or not a directory; refusing to follow it");
      }
      return failErrno("open '" + shown + "'");
    }
    cur.reset(fd);
  }
  return {};
}

}  // namespace

Result<void> checkBeneath(const std::string& base, const std::string& relative) {
  return walk(base, relative, /*create=*/false, nullptr);
}

Result<void> mkdirBeneath(const std::string& base, const std::string& relative,
                          std::vector<std::string>* created) {
  return walk(base, relative, /*create=*/true, created);
}

}  // namespace warren::volumes
