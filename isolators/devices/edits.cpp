#include "edits.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <set>

#include "warren/sdk/fs.hpp"

namespace warren::isolators::cdi {
namespace {

class Builder {
 public:
  Builder(bool own_rootfs, const Options& o, std::vector<std::string>* skipped)
      : own_(own_rootfs), opts_(o), skipped_(skipped) {}

  Result<void> apply(const ContainerEdits& e, const std::string& who) {
    for (const auto& kv : e.env) {
      auto eq = kv.find('=');
      std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      auto [it, added] = env_.emplace(k, std::make_pair(v, who));
      if (!added && it->second.first != v) {
        return fail(Code::InvalidArgument, "CDI devices '" + it->second.second + "' and '" + who +
                                               "' set " + k + " differently");
      }
    }
    for (const auto& d : e.device_nodes) WARREN_TRY(node(d, who));
    for (const auto& m : e.mounts) WARREN_TRY(mount(m.host_path, m.container_path, m.type, m.options, false, who));
    for (const auto& h : e.hooks) WARREN_TRY(hook(h, who));
    return {};
  }

  v1::LaunchInfo take() {
    for (const auto& [k, v] : env_) (*li_.mutable_env())[k] = v.first;
    return std::move(li_);
  }

 private:
  Result<void> node(const DeviceNode& d, const std::string& who) {
    std::string host = d.host_path.empty() ? d.path : d.host_path;
    if (!paths_.insert(d.path).second) return {};  // the same node from two devices
    auto* dev = li_.add_devices();
    dev->set_path(d.path);
    dev->set_type(d.type);
    dev->set_major(d.major);
    dev->set_minor(d.minor);
    dev->set_access(d.permissions.empty() ? "rwm" : d.permissions);
    if (d.type.empty() || d.major < 0 || d.minor < 0) {
      struct stat st {};
      if (::stat(host.c_str(), &st) != 0) {
        return failErrno("CDI device '" + who + "': device node '" + host + "'");
      }
      if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return fail(Code::InvalidArgument, "CDI device '" + who + "': '" + host + "' is not a device node");
      }
      if (d.type.empty()) dev->set_type(S_ISCHR(st.st_mode) ? "c" : "b");
      if (d.major < 0) dev->set_major(major(st.st_rdev));
      if (d.minor < 0) dev->set_minor(minor(st.st_rdev));
    }
    if (!own_ && host == d.path) {  // the host's /dev is the container's
      if (fs::exists(d.path)) return {};
      return fail(Code::FailedPrecondition,
                  "CDI device '" + who + "': '" + d.path + "' does not exist and the container has no "
                  "root filesystem of its own to create it in");
    }
    return mount(host, d.path, "bind", {"bind", "nosuid"}, true, who);
  }

  Result<void> mount(const std::string& source, const std::string& target, const std::string& type,
                     const std::vector<std::string>& options, bool file, const std::string& who) {
    v1::Mount m;
    m.set_source(source);
    m.set_target(target);
    m.set_type(type.empty() ? "bind" : type);
    bool has_bind = false;
    for (const auto& o : options) {
      m.add_options(o);
      has_bind = has_bind || o == "bind" || o == "rbind";
    }
    if (m.type() == "bind" && !has_bind) m.add_options("bind");
    if (own_) {
      struct stat st {};
      bool is_dir = ::stat(source.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (file || !is_dir) m.set_create_file(true);
      else m.set_create_dir(true);
    } else if (!fs::exists(target)) {
      // Without a root of its own the container's paths are the host's:
      // creating the target would change the host.
      return fail(Code::FailedPrecondition,
                  "CDI device '" + who + "': '" + target + "' does not exist and the container has no "
                  "root filesystem of its own to create it in");
    }
    *li_.add_mounts() = m;
    return {};
  }

  Result<void> hook(const Hook& h, const std::string& who) {
    if (h.hook_name == "startContainer" && h.env.empty()) {
      auto* c = li_.add_pre_exec();
      c->set_value(h.path);
      for (size_t i = 1; i < h.args.size(); ++i) c->add_arguments(h.args[i]);
      return {};
    }
    std::string what = "CDI device '" + who + "': " + h.hook_name + " hook '" + h.path + "'";
    if (opts_.skip_unsupported_hooks) {
      skipped_->push_back(what);
      return {};
    }
    return fail(Code::Unimplemented,
                what + " is not supported (warren runs startContainer hooks without env, inside the "
                "container; set skip_unsupported_hooks to launch without it)");
  }

  bool own_;
  const Options& opts_;
  std::vector<std::string>* skipped_;
  v1::LaunchInfo li_;
  std::map<std::string, std::pair<std::string, std::string>> env_;  // key -> (value, device)
  std::set<std::string> paths_;
};

}  // namespace

Result<v1::LaunchInfo> applyEdits(const Registry& reg, const std::vector<std::string>& requested,
                                  bool own_rootfs, const Options& opts,
                                  std::vector<std::string>* skipped_hooks) {
  Builder b(own_rootfs, opts, skipped_hooks);
  std::set<size_t> specs_applied;
  std::set<std::string> seen;
  for (const auto& q : requested) {
    WARREN_TRY(parseDeviceName(q));
    if (!seen.insert(q).second) return fail(Code::InvalidArgument, "CDI device '" + q + "' is requested twice");
    auto it = reg.devices.find(q);
    if (it == reg.devices.end()) {
      return fail(Code::NotFound, "CDI device '" + q + "' is not defined by any spec in the CDI spec dirs");
    }
    const Spec& spec = reg.specs[it->second.first];
    if (specs_applied.insert(it->second.first).second) WARREN_TRY(b.apply(spec.edits, q));
    WARREN_TRY(b.apply(spec.devices.at(it->second.second), q));
  }
  return b.take();
}

}  // namespace warren::isolators::cdi
