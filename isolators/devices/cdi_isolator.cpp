#include "cdi_isolator.hpp"

#include "warren/isolators/devices_cdi/config.pb.h"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::isolators::cdi {

using Config = devices_cdi::Config;  // config proto package: from the short name

namespace {

const std::string kDevicesKey = std::string(kShortName) + ".devices";

bool hasOwnRootfs(const v1::ContainerContext& c) {  // as filesystem/linux decides
  if (c.rootfs().empty()) return false;
  if (!c.has_parent()) return true;
  bool asked = !c.config().rootfs().empty() || !c.config().image().empty();
  return asked && c.rootfs() != c.parent().rootfs();
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<CdiIsolator>> CdiIsolator::create(const v1::PluginContext& ctx) {
  auto cfg = sdk::parseConfig<Config>(ctx);
  if (!cfg) return fail(std::move(cfg.error()).context(kShortName));
  Options o;
  for (const auto& d : cfg->spec_dirs()) {
    if (d.empty() || d[0] != '/') {
      return fail(Code::InvalidArgument, std::string(kShortName) + ": spec_dirs entry '" + d +
                                             "' is not an absolute path");
    }
    o.spec_dirs.push_back(d);
  }
  if (o.spec_dirs.empty()) o.spec_dirs = {"/etc/cdi", "/var/run/cdi"};
  o.skip_unsupported_hooks = cfg->skip_unsupported_hooks();
  return std::unique_ptr<CdiIsolator>(new CdiIsolator(std::move(o), sdk::makeLogger("warren.isolator.devices.cdi")));
}

CdiIsolator::CdiIsolator(Options opts, std::shared_ptr<sdk::Logger> log)
    : opts_(std::move(opts)), log_(std::move(log)) {}

v1::PluginInfo CdiIsolator::info() const {
  v1::PluginInfo i;
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  i.add_after("filesystem/linux");  // our /dev binds go on its fresh /dev
  i.add_before("cgroups");          // which allows our LaunchInfo.devices
  return i;
}

Result<v1::LaunchInfo> CdiIsolator::prepare(const v1::PrepareRequest& req) {
  const auto& c = req.container();
  const std::string id = formatId(c.id());
  std::vector<std::string> requested;
  for (const auto& [key, value] : c.config().isolator_settings()) {
    if (key.rfind(std::string(kShortName) + ".", 0) != 0) continue;
    if (key != kDevicesKey) {
      return fail(Code::InvalidArgument, "container '" + id + "': unknown isolator setting '" + key +
                                             "' (known: " + kDevicesKey + ")");
    }
    requested = splitList(value);
  }
  if (requested.empty()) return v1::LaunchInfo{};
  if (c.config().container_class() == v1::DEBUG) {
    return fail(Code::InvalidArgument, "DEBUG container '" + id +
                                           "' shares its parent's devices and cannot ask for CDI devices");
  }
  auto reg = loadRegistry(opts_.spec_dirs);
  if (!reg) return fail(std::move(reg.error()).context("container '" + id + "'"));
  std::vector<std::string> skipped;
  auto li = applyEdits(*reg, requested, hasOwnRootfs(c), opts_, &skipped);
  if (!li) return fail(std::move(li.error()).context("container '" + id + "'"));
  for (const auto& s : skipped) log_->warn("container_id={} {} skipped (skip_unsupported_hooks)", id, s);
  log_->info("container_id={} CDI devices {}", id, c.config().isolator_settings().at(kDevicesKey));
  return li;
}

}  // namespace warren::isolators::cdi
