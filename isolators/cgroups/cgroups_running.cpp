// The cgroups isolator while containers run: watch, update, usage, status,
// and the per-container limit records that checks against parents and
// children read.
#include <unistd.h>

#include <chrono>

#include "cgroupfs.hpp"
#include "cgroups_isolator.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/record.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::cgroups {

namespace {


v1::ContainerID prefixOf(const v1::ContainerID& id, int n) {
  v1::ContainerID p;
  for (int i = 0; i < n; ++i) p.add_path(id.path(i));
  return p;
}

}  // namespace

void CgroupsIsolator::writeRecord(const v1::ContainerID& id, const Limits& l) const {
  if (records_dir_.empty()) return;
  auto r = record::writeSealed(records_dir_ + "/" + formatId(id), serializeLimits(l));
  if (!r) log_->warn("container_id={} could not record limits: {}", formatId(id), r.error().message());
}

void CgroupsIsolator::removeRecords(const std::string& id_text) const {
  if (records_dir_.empty()) return;
  ::unlink((records_dir_ + "/" + id_text).c_str());
}

Limits CgroupsIsolator::recordedLimits(const v1::ContainerID& id, bool* found) const {
  *found = false;
  if (records_dir_.empty()) return {};
  std::string path = records_dir_ + "/" + formatId(id);
  ino_t inode = 0;
  auto text = record::readSealed(path, &inode);
  if (!text) {
    if (text.error().err() == 0) {  // unreadable: moved aside, never acted on
      auto moved = record::quarantine(path, inode);
      log_->error("container_id={} limits record '{}' unreadable ({}){}", formatId(id), path,
                  text.error().message(), moved ? "; quarantined as '" + *moved + "'" : "");
    }
    return {};
  }
  *found = true;
  return parseLimits(*text);
}

Result<void> CgroupsIsolator::checkAgainstAncestors(const v1::ContainerID& id, const Limits& l,
                                                    const v1::ContainerState* parent) const {
  std::string me = formatId(id);
  // Per resource, the nearest ancestor that limits it.
  struct Bound {
    Limits limit;
    std::string owner;
    std::string relation;
  } cpus, mem, pids;
  for (int depth = id.path_size() - 1; depth >= 1; --depth) {
    v1::ContainerID anc = prefixOf(id, depth);
    bool found = false;
    Limits a = recordedLimits(anc, &found);
    if (!found && depth == id.path_size() - 1 && parent != nullptr) {
      a = limitsFromResources(parent->config().resources()).value_or(Limits{});
    }
    std::string relation = depth == id.path_size() - 1 ? "parent" : "ancestor";
    if (cpus.owner.empty() && a.cpus > 0) cpus = {Limits{.cpus = a.cpus}, formatId(anc), relation};
    if (mem.owner.empty() && a.mem_bytes > 0) mem = {Limits{.mem_bytes = a.mem_bytes}, formatId(anc), relation};
    if (pids.owner.empty() && a.pids > 0) pids = {Limits{.pids = a.pids}, formatId(anc), relation};
  }
  for (const Bound* b : {&cpus, &mem, &pids}) {
    if (!b->owner.empty()) WARREN_TRY(checkWithin(l, me, b->limit, b->owner, b->relation));
  }
  return {};
}

Result<void> CgroupsIsolator::checkAgainstChildren(const v1::ContainerID& id, const Limits& l) const {
  std::string me = formatId(id);
  for (const auto& name : backend_->children(rel(id))) {
    v1::ContainerID cid = id;
    cid.add_path(name);
    bool found = false;
    Limits c = recordedLimits(cid, &found);
    if (!found) continue;
    auto within = checkWithin(c, formatId(cid), l, me);
    if (!within) {
      return fail(Code::FailedPrecondition, "cannot lower the limits of '" + me + "': " +
                                                within.error().message() + " after the update");
    }
  }
  return {};
}

Result<v1::WatchResponse> CgroupsIsolator::watch(const v1::WatchRequest& req) {
  v1::WatchResponse resp;
  if (!validateId(req.id())) return resp;
  std::string r = rel(req.id());
  if (!backend_->exists(r)) return resp;
  uint64_t kills = backend_->ownOomKills(r);
  if (kills == 0) return resp;
  auto st = backend_->stats(r);
  if (!st) return fail(std::move(st.error().context("container '" + formatId(req.id()) + "'")));
  // The limit that applied: this container's, else the nearest ancestor's.
  uint64_t limit = st->mem_limit;
  std::string owner = formatId(req.id());
  for (int depth = req.id().path_size() - 1; limit == kUnlimited && depth >= 1; --depth) {
    v1::ContainerID anc = prefixOf(req.id(), depth);
    auto as = backend_->stats(rel(anc));
    if (as && as->mem_limit != kUnlimited) {
      limit = as->mem_limit;
      owner = formatId(anc);
    }
  }
  auto* lim = resp.add_limitations();
  lim->set_reason(v1::Limitation::MEMORY);
  lim->set_peak_bytes(st->mem_peak);
  if (limit != kUnlimited) lim->mutable_resources()->set_mem_bytes(limit);
  lim->set_message("memory limit " + (limit == kUnlimited ? std::string("(host)") : formatSize(limit)) +
                   (owner == formatId(req.id()) ? "" : " of '" + owner + "'") + " reached: " +
                   std::to_string(kills) + " process(es) OOM-killed, peak usage " +
                   formatSize(st->mem_peak));
  return resp;
}

Result<void> CgroupsIsolator::update(const v1::UpdateRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  std::string id = formatId(c.id());
  if (hasNoCgroup(c.config())) {
    return fail(Code::InvalidArgument, "container '" + id + "' runs in its parent's cgroups (" +
                                           (isDebug(c.config()) ? "a DEBUG container" : "cgroups.share_parent") +
                                           "): it has no resources of its own to update");
  }
  auto l = limitsFromResources(req.resources());
  if (!l) return fail(std::move(l.error().context("update of '" + id + "'")));
  if (!l->any()) {
    return fail(Code::InvalidArgument, "update of '" + id + "': no resources given (cpus, mem_bytes, pids)");
  }
  std::string r = rel(c.id());
  if (!backend_->exists(r)) return fail(Code::NotFound, "update of '" + id + "': no cgroup for it");
  WARREN_TRY(requireControllers(*l, id));
  if (hasParent(c.id())) {
    WARREN_TRY(checkAgainstAncestors(c.id(), *l, c.has_parent() ? &c.parent() : nullptr));
  }
  WARREN_TRY(checkAgainstChildren(c.id(), *l));
  if (l->mem_bytes > 0) {
    WARREN_ASSIGN_OR_RETURN(Stats st, backend_->stats(r));
    if (l->mem_bytes < st.mem_usage) {
      return fail(Code::FailedPrecondition, "cannot lower resources.mem_bytes of '" + id + "' to " +
                                                formatSize(l->mem_bytes) + ": it uses " +
                                                formatSize(st.mem_usage) + " now");
    }
  }
  bool found = false;
  Limits rec = recordedLimits(c.id(), &found);
  // The CFS quota choice is the container's, recorded when it was made.
  l->cfs = rec.cfs;
  l->cfs_period_us = rec.cfs_period_us;
  auto applied = backend_->update(r, *l);
  if (!applied) return fail(std::move(applied.error().context("update of '" + id + "'")));
  if (l->cpus > 0) rec.cpus = l->cpus;
  if (l->mem_bytes > 0) rec.mem_bytes = l->mem_bytes;
  if (l->pids > 0) rec.pids = l->pids;
  writeRecord(c.id(), rec);
  log_->info("container_id={} updated (cpus={} mem={} pids={})", id, rec.cpus, rec.mem_bytes, rec.pids);
  return {};
}

Result<v1::ResourceStatistics> CgroupsIsolator::usage(const v1::ContainerRequest& req) {
  WARREN_TRY(validateId(req.id()));
  std::string id = formatId(req.id());
  if (req.has_state() && hasNoCgroup(req.state().config())) {
    return fail(Code::NotFound, "container '" + id + "' has no cgroup of its own (it shares its parent's)");
  }
  std::string r = rel(req.id());
  if (!backend_->exists(r)) return fail(Code::NotFound, "container '" + id + "': no cgroup");
  WARREN_ASSIGN_OR_RETURN(Stats st, backend_->stats(r));
  v1::ResourceStatistics out;
  out.set_timestamp(std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch()).count());
  out.set_cpus_user_time_secs(st.user_secs);
  out.set_cpus_system_time_secs(st.system_secs);
  out.set_cpus_nr_throttled(st.nr_throttled);
  out.set_cpus_throttled_time_secs(st.throttled_secs);
  bool found = false;
  Limits rec = recordedLimits(req.id(), &found);
  out.set_cpus_limit(rec.cpus);
  out.set_mem_limit_bytes(st.mem_limit == kUnlimited ? 0 : st.mem_limit);
  out.set_mem_usage_bytes(st.mem_usage);
  out.set_mem_peak_bytes(st.mem_peak);
  out.set_oom_events(st.oom_kills);
  out.set_pids_current(st.pids_current);
  out.set_pids_limit(st.pids_limit == kUnlimited ? 0 : st.pids_limit);
  auto put = [](const Pressure& p, v1::Pressure* o) {
    o->set_some_avg10(p.some[0]);
    o->set_some_avg60(p.some[1]);
    o->set_some_avg300(p.some[2]);
    o->set_some_total_usecs(p.some_total_usecs);
    o->set_full_avg10(p.full[0]);
    o->set_full_avg60(p.full[1]);
    o->set_full_avg300(p.full[2]);
    o->set_full_total_usecs(p.full_total_usecs);
  };
  if (st.cpu_pressure) put(*st.cpu_pressure, out.mutable_cpu_pressure());
  if (st.memory_pressure) put(*st.memory_pressure, out.mutable_memory_pressure());
  if (st.io_pressure) put(*st.io_pressure, out.mutable_io_pressure());
  return out;
}

Result<v1::ContainerStatus> CgroupsIsolator::status(const v1::ContainerRequest& req) {
  v1::ContainerStatus out;
  WARREN_TRY(validateId(req.id()));
  *out.mutable_id() = req.id();
  bool debug = req.has_state() && hasNoCgroup(req.state().config());
  v1::ContainerID target = req.id();
  if (debug) {
    target = parentOf(req.id());
    while (!backend_->exists(rel(target)) && hasParent(target)) target = parentOf(target);
  }
  std::string r = rel(target);
  if (!backend_->exists(r)) return out;
  out.set_cgroup(backend_->cgroupPath(r));
  (*out.mutable_labels())["cgroups.version"] = std::to_string(backend_->version());
  if (debug) (*out.mutable_labels())["cgroups.shared_with_parent"] = "true";
  return out;
}

}  // namespace warren::isolators::cgroups
