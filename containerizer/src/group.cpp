// Task groups: several nested containers under one parent, delivered
// all-or-nothing, with a failure policy (kill_group or independent).
#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <signal.h>

#include <set>

#include "containerizer_impl.hpp"
#include "proc.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::core {

namespace {

constexpr uint32_t kDefaultGraceMs = 3000;

bool isFailure(const v1::Termination& t) {
  switch (t.reason()) {
    case v1::Termination::COMMAND_EXITED: return t.exit_code() != 0;
    case v1::Termination::PARENT_DESTROYED:
    case v1::Termination::GROUP_MEMBER_FAILED: return false;
    default: return true;
  }
}

}  // namespace

std::string ContainerizerImpl::groupFile(const v1::ContainerID& parent, const std::string& name) const {
  return store_.layout().runtimeDir(parent) + "/groups/" + name;
}

Result<v1::TaskGroupState> ContainerizerImpl::loadGroup(const v1::ContainerID& parent,
                                                        const std::string& name) const {
  std::string path = groupFile(parent, name);
  ino_t inode = 0;
  auto payload = record::readSealed(path, &inode);
  if (!payload && payload.error().err() != 0) {
    if (payload.error().err() == ENOENT) {
      return fail(Code::NotFound, "unknown task group '" + name + "' under '" + formatId(parent) + "'");
    }
    return fail(std::move(payload.error()));
  }
  v1::TaskGroupState g;
  std::string why = payload ? "not a TaskGroupState" : payload.error().message();
  if (payload && g.ParseFromString(*payload)) return g;
  auto moved = record::quarantine(path, inode);
  if (moved) {
    log_->error("task group '{}' under '{}': checkpoint unreadable ({}); quarantined as '{}'", name,
                formatId(parent), why, *moved);
  }
  return fail(Code::FailedPrecondition, "the checkpoint of task group '" + name + "' under '" +
                                            formatId(parent) + "' is unreadable (" + why + ")");
}

Result<std::vector<v1::ContainerID>> ContainerizerImpl::validateGroup(const v1::ContainerID& parent,
                                                                      const v1::TaskGroup& g) const {
  WARREN_TRY(validateId(parent));
  std::string gname = g.name();
  auto nameOk = validateName(gname);
  if (!nameOk) return fail(Code::InvalidArgument, "task group name: " + nameOk.error().message());
  std::string what = "task group '" + gname + "'";
  if (g.members_size() == 0) return fail(Code::InvalidArgument, what + ": no members");
  std::vector<v1::ContainerID> ids;
  std::set<std::string> seen;
  for (const auto& m : g.members()) {
    std::string n = m.name();
    if (n.find('.') != std::string::npos) {
      // A full ID: it must sit directly under this parent.
      auto full = parseId(n);
      if (!full) return fail(Code::InvalidArgument, what + ": member '" + n + "': " + full.error().message());
      if (formatId(parentOf(*full)) != formatId(parent)) {
        return fail(Code::InvalidArgument, what + ": member '" + n + "' names a different parent than '" +
                                               formatId(parent) + "'");
      }
      n = full->path(full->path_size() - 1);
    }
    auto ok = validateName(n);
    if (!ok) return fail(Code::InvalidArgument, what + ": member '" + m.name() + "': " + ok.error().message());
    if (!seen.insert(n).second) {
      return fail(Code::InvalidArgument, what + ": duplicate member name '" + n + "'");
    }
    v1::ContainerID id = childOf(parent, n);
    WARREN_TRY(validateId(id));
    ids.push_back(id);
  }
  return ids;
}

Result<std::vector<v1::ContainerStatus>> ContainerizerImpl::launchGroup(const v1::ContainerID& parent,
                                                                        const v1::TaskGroup& g) {
  WARREN_ASSIGN_OR_RETURN(auto ids, validateGroup(parent, g));
  std::string what = "task group '" + g.name() + "'";
  std::vector<Attempt> attempts(ids.size());
  {
    std::optional<FileLock> guard;
    {
      WARREN_ASSIGN_OR_RETURN(auto l, lock());
      guard.emplace(std::move(l));
    }
    std::string gfile = groupFile(parent, g.name());
    // Undoes every member begun so far and the group checkpoint.
    auto undo = [&](const Error& e, size_t failed) -> Error {
      for (auto& a : attempts) {
        if (a.begun) rollback(a, e);
      }
      for (const char* suffix : {"", ".released", ".cancel"}) (void)::unlink((gfile + suffix).c_str());
      return Error(e.code(), what + ": member '" + ids[failed].path(ids[failed].path_size() - 1) + "': " + e.message());
    };
    if (fs::exists(groupFile(parent, g.name()))) {
      return fail(Code::AlreadyExists, what + " already exists under '" + formatId(parent) + "'");
    }
    if (!store_.exists(parent)) {
      return fail(Code::NotFound, what + ": parent container '" + formatId(parent) + "' is unknown");
    }
    v1::TaskGroupState gs;
    *gs.mutable_group() = g;
    *gs.mutable_parent() = parent;
    gs.set_decision(v1::TaskGroupState::PREPARING);
    for (const auto& id : ids) gs.add_members(id.path(id.path_size() - 1));
    std::string bytes;
    gs.SerializeToString(&bytes);
    WARREN_TRY(fs::mkdirs(store_.layout().runtimeDir(parent) + "/groups", 0700));
    WARREN_TRY(record::writeSealed(groupFile(parent, g.name()), bytes));

    // Phase 0: every member begun (its name taken, a PROVISIONING
    // checkpoint, its launch lock held by us).
    for (size_t i = 0; i < ids.size(); ++i) {
      Attempt& a = attempts[i];
      a.st.set_group(g.name());
      a.state_lock = &guard;
      // The group's max_completion_time is each member's unless it has its own.
      v1::ContainerConfig member = g.members(static_cast<int>(i)).config();
      if (member.max_completion_time_ms() == 0) member.set_max_completion_time_ms(g.max_completion_time_ms());
      auto r = beginAttempt(a, ids[i], member);
      // warren-init follows this link when its launcher dies before release:
      // it exists only once the group's release was decided.
      if (r) r = linkDecision(a.st.id(), g.name());
      if (!r) return fail(undo(r.error(), i));
    }
    // Phase 1a: every member's image, without the state lock while a pull
    // runs (only the members' launch locks are held): a slow pull holds up
    // no other container. A destroy of any member (or of the parent) while
    // the lock was given up rolls the whole group back.
    for (size_t i = 0; i < ids.size(); ++i) {
      auto r = provision(attempts[i]);
      for (size_t j = 0; r && j < ids.size(); ++j) r = checkNotCancelled(attempts[j]);
      if (!r) return fail(undo(r.error(), i));
    }
    // Phase 1b: every member prepared, spawned and isolated - blocked before
    // its command. Any failure: roll every member back.
    for (size_t i = 0; i < ids.size(); ++i) {
      auto r = prepareAttempt(attempts[i]);
      if (!r) return fail(undo(r.error(), i));
      faultPoint("group-member-isolated");
    }
    // Fault injection for the crash-safety test: stop here until killed.
    if (const char* pause = ::getenv("WARREN_FAULT_PAUSE_BEFORE_GROUP_RELEASE")) {
      (void)fs::writeFile(pause, "paused\n");
      while (true) ::pause();
    }
    // Phase 1c: every member's init does all its setup that can fail
    // (mounts, pivot_root, hostname, user) and stops before its command. A
    // failure rolls the whole group back before any user command ran.
    for (size_t i = 0; i < attempts.size(); ++i) {
      Attempt& a = attempts[i];
      a.step = "setup";
      auto r = launcher::prepare(a.launched);
      if (!r) return fail(undo(r.error(), i));
    }
    faultPoint("group-prepared");
    // Phase 2: the decision is checkpointed first; from here on recovery
    // finishes the release instead of undoing it.
    // The marker the members' inits can see comes first: from the moment it
    // exists a member whose launcher dies goes on by itself.
    gs.set_decision(v1::TaskGroupState::RELEASED);
    gs.SerializeToString(&bytes);
    auto decided = fs::writeFile(groupFile(parent, g.name()) + ".released", "released\n");
    if (decided) decided = record::writeSealed(groupFile(parent, g.name()), bytes);
    if (!decided) {
      for (auto& a : attempts) rollback(a, decided.error());
      for (const char* suffix : {"", ".released", ".cancel"}) (void)::unlink((gfile + suffix).c_str());
      return fail(std::move(decided.error()).context(what + ": checkpoint the release"));
    }
    faultPoint("group-decided");
    if (const char* pause = ::getenv("WARREN_FAULT_PAUSE_AFTER_GROUP_DECISION")) {
      (void)fs::writeFile(pause, "paused\n");
      while (true) ::pause();
    }
    std::optional<Error> first;
    for (auto& a : attempts) {
      auto r = commitAttempt(a);
      if (!r && !first) {
        first = std::move(r.error()).context(what + ": member '" + formatId(a.st.id()) + "' failed to start");
      }
    }
    if (first) {
      log_->error("{}", first->message());
      // The failed member's init recorded the setup failure; finishing it
      // applies the group's policy to the others.
      for (auto& a : attempts) {
        auto st = store_.load(a.st.id());
        if (st && st->state() == v1::RUNNING && !running(*st)) (void)finish(*st, v1::Termination::REASON_UNSPECIFIED, "");
      }
      return fail(*first);
    }
  }
  std::vector<v1::ContainerStatus> out;
  for (const auto& id : ids) {
    WARREN_ASSIGN_OR_RETURN(auto s, status(id));
    out.push_back(std::move(s));
  }
  return out;
}

// Recovery of a member whose launcher died while it was blocked: when the
// group's decision to release was checkpointed, release it now (warren-init
// waits for `release` in its runtime dir once its launcher is gone).
Result<void> ContainerizerImpl::linkDecision(const v1::ContainerID& member, const std::string& group) {
  std::string link = store_.layout().runtimeDir(member) + "/decision";
  if (::symlink(("../../groups/" + group + ".released").c_str(), link.c_str()) != 0) {
    return failErrno("symlink '" + link + "'");
  }
  return {};
}

bool ContainerizerImpl::groupReleased(const v1::ContainerID& parent, const std::string& group) {
  auto gs = loadGroup(parent, group);
  if (gs && gs->decision() == v1::TaskGroupState::RELEASED) return true;
  return fs::exists(groupFile(parent, group) + ".released");
}

bool ContainerizerImpl::finishGroupRelease(v1::ContainerState& st) {
  if (st.group().empty() || !running(st)) return false;
  if (!groupReleased(parentOf(st.id()), st.group())) return false;
  st.set_state(v1::RUNNING);
  if (!store_.save(st)) return false;
  auto r = fs::writeFile(store_.layout().runtimeDir(st.id()) + "/release", "go\n");
  if (!r) return false;
  log_->warn("container_id={} released by recovery (task group '{}' was decided)", formatId(st.id()),
             st.group());
  return true;
}

// Group checkpoints whose decision never came, or whose members are all
// gone, are removed.
void ContainerizerImpl::recoverGroups() {
  for (const auto& parent : store_.all()) {
    std::string dir = store_.layout().runtimeDir(parent.id()) + "/groups";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (validateName(n)) names.push_back(n);  // not .released, .quarantined, .tmp
    }
    ::closedir(d);
    for (const auto& n : names) {
      auto gs = loadGroup(parent.id(), n);
      if (!gs && gs.error().code() == Code::FailedPrecondition) continue;  // quarantined: left alone
      bool any = false, live = false;
      if (gs) {
        for (const auto& m : gs->members()) {
          v1::ContainerID mid = childOf(parent.id(), m);
          any = any || store_.exists(mid);
          // Its launcher is alive (provisioning without the state lock).
          auto mst = store_.load(mid);
          live = live || (mst && launching(*mst) && !launcherGone(mid));
        }
      }
      if (live) continue;
      bool released = gs && (gs->decision() == v1::TaskGroupState::RELEASED ||
                             fs::exists(dir + "/" + n + ".released"));
      if (!gs || !released || !any) {
        log_->warn("removing task group '{}' under '{}' ({})", n, formatId(parent.id()),
                   gs && !released ? "never released" : "no members left");
        (void)::unlink((dir + "/" + n).c_str());
        (void)::unlink((dir + "/" + n + ".released").c_str());
      }
    }
  }
}

void ContainerizerImpl::applyGroupPolicy(const v1::ContainerState& st, const v1::Termination& t) {
  if (st.group().empty() || !isFailure(t)) return;
  v1::ContainerID parent = parentOf(st.id());
  auto gs = loadGroup(parent, st.group());
  if (!gs || gs->group().policy() == v1::TaskGroup::INDEPENDENT) return;
  std::string me = st.id().path(st.id().path_size() - 1);
  std::string why = "member '" + me + "' of task group '" + st.group() + "' failed: " + t.message();
  std::vector<v1::ContainerState> victims;
  for (const auto& n : gs->members()) {
    if (n == me) continue;
    auto sib = store_.load(childOf(parent, n));
    if (!sib || sib->state() != v1::RUNNING) continue;
    if (sib->pending_reason() != v1::Termination::REASON_UNSPECIFIED) continue;
    sib->set_pending_reason(v1::Termination::GROUP_MEMBER_FAILED);
    sib->set_pending_message(why);
    sib->set_kill_signal(SIGTERM);
    (void)store_.save(*sib);
    auto fd = openProcess(sib->pid(), sib->start_time());
    if (fd) (void)signalProcess(fd->get(), SIGTERM);
    victims.push_back(*sib);
  }
  uint32_t grace = gs->group().grace_period_ms() ? gs->group().grace_period_ms() : kDefaultGraceMs;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace);
  for (auto& v : victims) {
    auto fd = openProcess(v.pid(), v.start_time());
    if (!fd) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    if (!waitExit(fd->get(), left)) {
      v.set_kill_signal(SIGKILL);
      (void)store_.save(v);
      (void)signalProcess(fd->get(), SIGKILL);
      waitExit(fd->get(), std::chrono::seconds(30));
    }
  }
  for (auto& v : victims) {
    auto fresh = store_.load(v.id());
    if (fresh && fresh->state() != v1::TERMINATED) (void)finish(*fresh, v1::Termination::REASON_UNSPECIFIED, "");
  }
}

Result<std::vector<Containerizer::MemberTermination>> ContainerizerImpl::waitGroup(
    const v1::ContainerID& parent, const std::string& name,
    std::optional<std::chrono::milliseconds> timeout) {
  WARREN_TRY(validateId(parent));
  WARREN_ASSIGN_OR_RETURN(auto gs, loadGroup(parent, name));
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  while (true) {
    std::vector<MemberTermination> done;
    std::vector<UniqueFd> fds;
    bool exited = false;
    for (const auto& n : gs.members()) {
      WARREN_ASSIGN_OR_RETURN(auto st, store_.load(childOf(parent, n)));
      if (st.state() == v1::TERMINATED && st.has_termination()) {
        done.push_back({st.id(), st.termination()});
        continue;
      }
      auto fd = openProcess(st.pid(), st.start_time());
      if (fd) fds.push_back(std::move(*fd));
      else exited = true;
    }
    if (done.size() == static_cast<size_t>(gs.members_size())) return done;
    if (!exited) {
      std::vector<pollfd> p;
      for (auto& f : fds) p.push_back({f.get(), POLLIN, 0});
      int ms = -1;
      if (timeout) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail(Code::Unavailable, "timed out waiting for task group '" + name + "'");
        ms = static_cast<int>(left.count());
      }
      int r = ::poll(p.data(), p.size(), ms);
      if (r == 0) return fail(Code::Unavailable, "timed out waiting for task group '" + name + "'");
    }
    WARREN_ASSIGN_OR_RETURN(auto guard, lock());
    for (const auto& n : gs.members()) {
      auto st = store_.load(childOf(parent, n));
      if (!st || st->state() == v1::TERMINATED || running(*st)) continue;
      (void)finish(*st, v1::Termination::REASON_UNSPECIFIED, "");
    }
  }
}

Result<void> ContainerizerImpl::killGroup(const v1::ContainerID& parent, const std::string& name, int sig) {
  WARREN_TRY(validateId(parent));
  WARREN_ASSIGN_OR_RETURN(auto gs, loadGroup(parent, name));
  for (const auto& n : gs.members()) {
    auto r = kill(childOf(parent, n), sig);
    if (!r && r.error().code() != Code::FailedPrecondition) return r;
  }
  return {};
}

Result<std::vector<Containerizer::MemberTermination>> ContainerizerImpl::destroyGroup(
    const v1::ContainerID& parent, const std::string& name) {
  WARREN_TRY(validateId(parent));
  std::vector<MemberTermination> out;
  {
    WARREN_ASSIGN_OR_RETURN(auto guard, lock());
    WARREN_ASSIGN_OR_RETURN(auto gs, loadGroup(parent, name));
    // Mark every member first, so no member's end reads as a failure that
    // the policy would blame on a sibling.
    for (const auto& n : gs.members()) {
      auto st = store_.load(childOf(parent, n));
      if (!st || st->state() == v1::TERMINATED) continue;
      if (!launching(*st) && !running(*st)) continue;  // exited: finished below
      st->set_pending_reason(v1::Termination::KILLED);
      st->set_pending_message("task group '" + name + "' destroyed");
      (void)store_.save(*st);
    }
    // A member that already exited keeps its own status (exit code, signal):
    // finish it now, so the destroy does not report it as KILLED.
    for (const auto& n : gs.members()) {
      auto st = store_.load(childOf(parent, n));
      if (!st || st->state() == v1::TERMINATED || launching(*st) || running(*st)) continue;
      (void)finish(*st, v1::Termination::REASON_UNSPECIFIED, "");
    }
  }
  WARREN_ASSIGN_OR_RETURN(auto gs, loadGroup(parent, name));
  for (const auto& n : gs.members()) {
    auto t = destroy(childOf(parent, n));
    if (t) out.push_back({childOf(parent, n), *t});
    else if (t.error().code() != Code::NotFound) return fail(t.error());
  }
  (void)::unlink(groupFile(parent, name).c_str());
  (void)::unlink((groupFile(parent, name) + ".released").c_str());
  return out;
}

}  // namespace warren::core
