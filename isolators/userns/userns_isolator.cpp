#include "userns_isolator.hpp"

#include <dirent.h>
#include <sys/file.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/record.hpp"

namespace warren::isolators::userns {
namespace {

void addMapping(google::protobuf::RepeatedPtrField<v1::IdMapping>* out, const Range& r) {
  auto* m = out->Add();
  m->set_container_id(0);
  m->set_host_id(r.start);
  m->set_size(r.count);
}

// An exclusive lock on the records (several warren processes may launch at once).
Result<UniqueFd> lockFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return failErrno("open '" + path + "'");
  if (::flock(fd.get(), LOCK_EX) != 0) return failErrno("flock '" + path + "'");
  return fd;
}

std::string flagOr(const v1::PluginContext& ctx, const char* name, const char* def) {
  auto it = ctx.flags().find(name);
  return it == ctx.flags().end() || it->second.empty() ? def : it->second;
}

}  // namespace

v1::LaunchInfo topLevelUserNamespace(const Range& slot) {
  v1::LaunchInfo li;
  auto* ns = li.add_namespaces();
  ns->set_type(v1::Namespace::USER);
  ns->set_action(v1::Namespace::CREATE);
  addMapping(li.mutable_uid_mappings(), slot);
  addMapping(li.mutable_gid_mappings(), slot);
  return li;
}

Result<v1::LaunchInfo> nestedUserNamespace(const v1::ContainerContext& c) {
  const std::string id = formatId(c.id());
  v1::LaunchInfo li;
  const auto& parent = c.parent().launch_info();
  if (parent.uid_mappings().empty()) {
    if (c.config().user_namespace()) {
      return fail(Code::InvalidArgument,
                  "container '" + id + "': user_namespace for a nested container needs a parent in a user "
                  "namespace (a nested container shares its parent's)");
    }
    return li;
  }
  if (c.parent().pid() <= 0) {
    return fail(Code::FailedPrecondition, "container '" + id + "': parent '" + formatId(c.parent().id()) +
                                              "' has no running init");
  }
  auto* ns = li.add_namespaces();
  ns->set_type(v1::Namespace::USER);
  ns->set_action(v1::Namespace::ENTER);
  ns->set_path("/proc/" + std::to_string(c.parent().pid()) + "/ns/user");
  *li.mutable_uid_mappings() = parent.uid_mappings();
  *li.mutable_gid_mappings() = parent.gid_mappings();
  return li;
}

UsernsIsolator::UsernsIsolator(Range range, uint32_t size, std::string records_dir)
    : range_(range),
      size_(size),
      records_dir_(std::move(records_dir)),
      lock_path_(records_dir_ + ".lock"),
      log_(sdk::makeLogger("warren.isolator.userns")) {}

Result<std::unique_ptr<UsernsIsolator>> UsernsIsolator::create(const v1::PluginContext& ctx) {
  if (!ctx.config_json().empty()) {
    return fail(Code::InvalidArgument,
                std::string(kShortName) + ": takes no JSON config; use --userns_range and --userns_size");
  }
  auto range = parseRange(flagOr(ctx, "userns_range", "268435456:268435456"));
  if (!range) return fail(std::move(range.error()).context(kShortName));
  auto size = parseSize(flagOr(ctx, "userns_size", "65536"));
  if (!size) return fail(std::move(size.error()).context(kShortName));
  if (*size > range->count) {
    return fail(Code::InvalidArgument, std::string(kShortName) + ": --userns_size " + std::to_string(*size) +
                                           " is larger than --userns_range's " + std::to_string(range->count) +
                                           " ids");
  }
  if (ctx.plugin_runtime_dir().empty()) {
    return fail(Code::FailedPrecondition, std::string(kShortName) + ": the host gave no runtime dir");
  }
  std::string records = ctx.plugin_runtime_dir() + "/ranges";
  auto made = fs::mkdirs(records, 0700);
  if (!made) return fail(std::move(made.error()).context(kShortName));
  return std::unique_ptr<UsernsIsolator>(new UsernsIsolator(*range, *size, records));
}

v1::PluginInfo UsernsIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  return i;
}

// Every record; an unreadable one is quarantined and then blocks new
// allocations (its range is unknown and may be in use: fail closed).
Result<Allocations> UsernsIsolator::load() const {
  Allocations all;
  WARREN_ASSIGN_OR_RETURN(std::vector<std::string> names, record::listNames(records_dir_, "id range records"));
  for (const auto& n : names) {
    std::string path = records_dir_ + "/" + n;
    if (n.size() > record::kQuarantineSuffix.size() &&
        n.compare(n.size() - record::kQuarantineSuffix.size(), std::string::npos, record::kQuarantineSuffix) == 0) {
      return fail(Code::FailedPrecondition,
                  "id range record '" + path + "' is unreadable and its range may be in use: no new range is "
                  "handed out until an operator removes it");
    }
    ino_t inode = 0;
    auto payload = record::readSealed(path, &inode);
    if (!payload && payload.error().err() == ENOENT) continue;  // removed meanwhile
    Result<Range> r = payload ? parseRecord(*payload) : fail(payload.error());
    if (!r) {
      auto moved = record::quarantine(path, inode);
      log_->error("id range record '{}' is unreadable ({}): quarantined", path, r.error().message());
      return fail(Code::FailedPrecondition, "id range record '" + path + "' is unreadable (" +
                                                r.error().message() + "): quarantined" +
                                                (moved ? " as '" + *moved + "'" : ""));
    }
    all[n] = *r;
  }
  return all;
}

Result<Range> UsernsIsolator::allocateFor(const std::string& cid) {
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  WARREN_ASSIGN_OR_RETURN(Allocations held, load());
  WARREN_ASSIGN_OR_RETURN(Range slot, allocate(cid, range_, size_, held));
  auto w = record::writeSealed(records_dir_ + "/" + cid, formatRecord(slot));
  if (!w) return fail(std::move(w.error()).context("container '" + cid + "': record its id range"));
  return slot;
}

Result<v1::LaunchInfo> UsernsIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  WARREN_TRY(validateId(c.id()));
  const std::string cid = formatId(c.id());
  if (c.has_parent()) {
    auto li = nestedUserNamespace(c);
    if (li && li->namespaces_size() > 0) log_->debug("container_id={} shares its parent's user namespace", cid);
    return li;
  }
  if (!c.config().user_namespace()) return v1::LaunchInfo{};
  WARREN_ASSIGN_OR_RETURN(Range slot, allocateFor(cid));
  log_->info("container_id={} user namespace: ids 0-{} -> host {}-{}", cid, slot.count - 1, slot.start,
             uint64_t{slot.start} + slot.count - 1);
  return topLevelUserNamespace(slot);
}

Result<v1::ContainerStatus> UsernsIsolator::status(const v1::ContainerRequest& req) {
  v1::ContainerStatus st;
  *st.mutable_id() = req.id();
  return st;
}

Result<void> UsernsIsolator::cleanup(const v1::ContainerRequest& req) {
  if (!validateId(req.id()) || req.id().path_size() != 1) return {};
  const std::string cid = formatId(req.id());
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  std::string path = records_dir_ + "/" + cid;
  if (::unlink(path.c_str()) == 0) {
    log_->info("container_id={} id range released", cid);
  } else if (errno != ENOENT) {
    return failErrno("container '" + cid + "': remove id range record '" + path + "'");
  }
  return {};
}

// Records of containers warren no longer knows are released; a known
// top-level container whose checkpoint has a new user namespace but whose
// record is missing gets it back from the checkpointed mappings, so its
// range is never handed out twice.
Result<void> UsernsIsolator::recover(const v1::RecoverRequest& req) {
  WARREN_ASSIGN_OR_RETURN(UniqueFd lock, lockFile(lock_path_));
  WARREN_ASSIGN_OR_RETURN(Allocations held, load());
  std::set<std::string> known;
  for (const auto& s : req.containers()) {
    if (s.id().path_size() != 1) continue;
    const std::string cid = formatId(s.id());
    known.insert(cid);
    const auto& li = s.launch_info();
    bool created = false;
    for (const auto& n : li.namespaces()) {
      created = created || (n.type() == v1::Namespace::USER && n.action() == v1::Namespace::CREATE);
    }
    if (!created || held.count(cid) || li.uid_mappings().empty()) continue;
    Range r{li.uid_mappings(0).host_id(), li.uid_mappings(0).size()};
    WARREN_TRY(record::writeSealed(records_dir_ + "/" + cid, formatRecord(r)));
    log_->warn("container_id={} id range record rebuilt from its checkpoint ({}:{})", cid, r.start, r.count);
    held[cid] = r;
  }
  size_t kept = 0;
  for (const auto& [cid, r] : held) {
    if (known.count(cid)) {
      ++kept;
      continue;
    }
    log_->warn("container_id={} unknown to warren: its id range {}:{} is released", cid, r.start, r.count);
    ::unlink((records_dir_ + "/" + cid).c_str());
  }
  log_->info("recovered id ranges of {} container(s)", kept);
  return {};
}

}  // namespace warren::isolators::userns
