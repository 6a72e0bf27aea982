#include "store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::core {

Result<void> Store::save(const v1::ContainerState& state) const {
  std::string bytes;
  if (!state.SerializeToString(&bytes)) {
    return fail(Code::Internal, "could not serialize the state of '" + formatId(state.id()) + "'");
  }
  auto r = record::writeSealed(layout_.stateFile(state.id()), bytes);
  if (!r) return fail(std::move(r.error()).context("checkpoint '" + formatId(state.id()) + "'"));
  return {};
}

bool Store::isQuarantined(const v1::ContainerID& id) const {
  return fs::exists(layout_.stateFile(id) + std::string(record::kQuarantineSuffix));
}

Result<v1::ContainerState> Store::load(const v1::ContainerID& id) const {
  std::string path = layout_.stateFile(id);
  std::string cid = formatId(id);
  ino_t inode = 0;
  auto payload = record::readSealed(path, &inode);
  if (!payload && payload.error().err() != 0) {
    if (payload.error().err() != ENOENT) return fail(std::move(payload.error()));
    if (isQuarantined(id)) {
      return fail(Code::FailedPrecondition, "the checkpoint of container '" + cid +
                                                "' is quarantined at '" + path + ".quarantined'");
    }
    return fail(Code::NotFound, "unknown container '" + cid + "'");
  }
  v1::ContainerState st;
  std::string why;
  if (!payload) {
    why = payload.error().message();
  } else if (!st.ParseFromString(*payload)) {
    why = "not a ContainerState";
  } else if (!validateId(st.id()) || formatId(st.id()) != cid) {
    why = "it names container '" + formatId(st.id()) + "'";
  } else {
    return st;
  }
  auto moved = record::quarantine(path, inode);
  if (!moved) {
    if (moved.error().code() == Code::Unavailable) return load(id);  // rewritten: read again
    return fail(Code::FailedPrecondition, "unreadable checkpoint '" + path + "' (" + why +
                                              "); quarantine failed: " + moved.error().message());
  }
  if (log_) {
    log_->error("container_id={} checkpoint '{}' is unreadable ({}); quarantined as '{}', container left alone",
                cid, path, why, *moved);
  }
  return fail(Code::FailedPrecondition, "the checkpoint of container '" + cid + "' is unreadable (" +
                                            why + "); quarantined at '" + *moved + "'");
}

bool Store::exists(const v1::ContainerID& id) const {
  return fs::exists(layout_.runtimeDir(id));
}

void Store::walk(const std::string& dir, v1::ContainerID prefix, Walk& out) const {
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
      out.states.push_back(*st);
    } else if (st.error().code() == Code::NotFound) {
      out.missing.push_back(id);
    } else {
      out.quarantined.push_back(id);
    }
    walk(layout_.runtimeDir(id) + "/containers", id, out);
  }
}

std::vector<v1::ContainerState> Store::all() const {
  Walk w;
  walk(layout_.containersRoot(), v1::ContainerID{}, w);
  return std::move(w.states);
}

std::vector<v1::ContainerID> Store::stateless() const {
  Walk w;
  walk(layout_.containersRoot(), v1::ContainerID{}, w);
  return std::move(w.missing);
}

std::vector<v1::ContainerID> Store::quarantined() const {
  Walk w;
  walk(layout_.containersRoot(), v1::ContainerID{}, w);
  return std::move(w.quarantined);
}

std::vector<v1::ContainerState> Store::descendants(const v1::ContainerID& id) const {
  Walk w;
  walk(layout_.runtimeDir(id) + "/containers", id, w);
  std::stable_sort(w.states.begin(), w.states.end(), [](const auto& a, const auto& b) {
    return a.id().path_size() > b.id().path_size();
  });
  return std::move(w.states);
}

Result<FileLock> FileLock::acquire(const std::string& path, bool create) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
  if (!fd && errno == ENOENT && !create) return fail(Code::NotFound, "no lock file '" + path + "'");
  if (!fd) return failErrno("open lock '" + path + "'");
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("lock '" + path + "'");
  }
  return FileLock(std::move(fd));
}

}  // namespace warren::core

namespace warren::core {

std::optional<FileLock> FileLock::tryAcquire(const std::string& path, bool create) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
  if (!fd) return std::nullopt;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EINTR) return std::nullopt;
  }
  return FileLock(std::move(fd));
}

}  // namespace warren::core
