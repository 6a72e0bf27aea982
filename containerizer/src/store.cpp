#include "store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::core {

Result<void> Store::save(const v1::ContainerState& state) const {
  std::string bytes;
  if (!state.SerializeToString(&bytes)) {
    return fail(Code::Internal, "could not serialize the state of '" + formatId(state.id()) + "'");
  }
  auto r = fs::writeFileAtomic(layout_.stateFile(state.id()), bytes);
  if (!r) return fail(std::move(r.error()).context("checkpoint '" + formatId(state.id()) + "'"));
  return {};
}

Result<v1::ContainerState> Store::load(const v1::ContainerID& id) const {
  auto text = fs::readFile(layout_.stateFile(id));
  if (!text) {
    if (text.error().err() == ENOENT) {
      return fail(Code::NotFound, "unknown container '" + formatId(id) + "'");
    }
    return fail(std::move(text.error()));
  }
  v1::ContainerState st;
  if (!st.ParseFromString(*text)) {
    return fail(Code::Internal, "corrupt checkpoint for '" + formatId(id) + "' at '" +
                                    layout_.stateFile(id) + "'");
  }
  return st;
}

bool Store::exists(const v1::ContainerID& id) const {
  return fs::exists(layout_.runtimeDir(id));
}

void Store::walk(const std::string& dir, v1::ContainerID prefix,
                 std::vector<v1::ContainerState>& out, std::vector<v1::ContainerID>* missing) const {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (validateName(n)) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    v1::ContainerID id = childOf(prefix, n);
    auto st = load(id);
    if (st) {
      out.push_back(*st);
    } else if (missing != nullptr) {
      missing->push_back(id);
    }
    walk(layout_.runtimeDir(id) + "/containers", id, out, missing);
  }
}

std::vector<v1::ContainerState> Store::all() const {
  std::vector<v1::ContainerState> out;
  walk(layout_.containersRoot(), v1::ContainerID{}, out, nullptr);
  return out;
}

std::vector<v1::ContainerID> Store::stateless() const {
  std::vector<v1::ContainerState> out;
  std::vector<v1::ContainerID> missing;
  walk(layout_.containersRoot(), v1::ContainerID{}, out, &missing);
  return missing;
}

std::vector<v1::ContainerState> Store::descendants(const v1::ContainerID& id) const {
  std::vector<v1::ContainerState> out;
  walk(layout_.runtimeDir(id) + "/containers", id, out, nullptr);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.id().path_size() > b.id().path_size();
  });
  return out;
}

Result<FileLock> FileLock::acquire(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return failErrno("open lock '" + path + "'");
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("lock '" + path + "'");
  }
  return FileLock(std::move(fd));
}

}  // namespace warren::core
