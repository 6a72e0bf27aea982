#include "merge.hpp"

namespace warren::core {

Result<void> LaunchInfoMerger::claim(const std::string& field, const std::string& who) {
  auto [it, inserted] = owners_.emplace(field, who);
  if (!inserted && it->second != who) {
    return fail(Code::FailedPrecondition, "isolators '" + it->second + "' and '" + who +
                                              "' both set " + field);
  }
  return {};
}

Result<void> LaunchInfoMerger::add(const std::string& who, const v1::LaunchInfo& p) {
  for (const auto& ns : p.namespaces()) {
    std::string key = "namespace " + v1::Namespace::Type_Name(ns.type()) + " " +
                      v1::Namespace::Action_Name(ns.action());
    WARREN_TRY(claim(key, who));
    *merged_.add_namespaces() = ns;
  }
  for (const auto& m : p.mounts()) *merged_.add_mounts() = m;
  for (const auto& [k, v] : p.env()) {
    WARREN_TRY(claim("env " + k, who));
    (*merged_.mutable_env())[k] = v;
  }
  for (const auto& r : p.rlimits()) {
    WARREN_TRY(claim("rlimit " + r.type(), who));
    *merged_.add_rlimits() = r;
  }
  for (const auto& c : p.capabilities()) merged_.add_capabilities(c);
  for (const auto& c : p.inheritable_capabilities()) merged_.add_inheritable_capabilities(c);
  for (const auto& c : p.ambient_capabilities()) merged_.add_ambient_capabilities(c);
  for (const auto& c : p.pre_exec()) *merged_.add_pre_exec() = c;
  for (const auto& m : p.masked_paths()) merged_.add_masked_paths(m);
  for (const auto& m : p.readonly_paths()) merged_.add_readonly_paths(m);
  for (const auto& m : p.chown_paths()) merged_.add_chown_paths(m);
  for (const auto& d : p.devices()) {
    WARREN_TRY(claim("device " + d.path(), who));
    *merged_.add_devices() = d;
  }
  for (const auto& [k, v] : p.files()) {
    WARREN_TRY(claim("file " + k, who));
    (*merged_.mutable_files())[k] = v;
  }
  auto single = [&](const char* field, bool set, auto apply) -> Result<void> {
    if (!set) return {};
    WARREN_TRY(claim(field, who));
    apply();
    return {};
  };
  WARREN_TRY(single("working_dir", !p.working_dir().empty(),
                    [&] { merged_.set_working_dir(p.working_dir()); }));
  WARREN_TRY(single("hostname", !p.hostname().empty(), [&] { merged_.set_hostname(p.hostname()); }));
  WARREN_TRY(single("rootfs", !p.rootfs().empty(), [&] { merged_.set_rootfs(p.rootfs()); }));
  WARREN_TRY(single("rootfs_upper_dir", !p.rootfs_upper_dir().empty(), [&] {
    merged_.set_rootfs_upper_dir(p.rootfs_upper_dir());
    merged_.set_rootfs_upper_root(p.rootfs_upper_root());
  }));
  WARREN_TRY(single("readonly_rootfs", p.readonly_rootfs(), [&] { merged_.set_readonly_rootfs(true); }));
  WARREN_TRY(single("user", !p.user().empty(), [&] { merged_.set_user(p.user()); }));
  WARREN_TRY(single("seccomp_bpf", !p.seccomp_bpf().empty(),
                    [&] { merged_.set_seccomp_bpf(p.seccomp_bpf()); }));
  WARREN_TRY(single("uid_mappings", p.uid_mappings_size() > 0,
                    [&] { *merged_.mutable_uid_mappings() = p.uid_mappings(); }));
  WARREN_TRY(single("gid_mappings", p.gid_mappings_size() > 0,
                    [&] { *merged_.mutable_gid_mappings() = p.gid_mappings(); }));
  WARREN_TRY(single("command", p.has_command() && !p.command().value().empty(),
                    [&] { *merged_.mutable_command() = p.command(); }));
  return {};
}

}  // namespace warren::core
