#include "pid_isolator.hpp"

#include <string>

namespace warren::isolators::pid {
namespace {

void addNamespace(v1::LaunchInfo& li, v1::Namespace::Action action, const std::string& path = {}) {
  auto* ns = li.add_namespaces();
  ns->set_type(v1::Namespace::PID);
  ns->set_action(action);
  if (!path.empty()) ns->set_path(path);
}

}  // namespace

Result<v1::LaunchInfo> pidNamespaces(const v1::ContainerContext& c, const Config& config) {
  const std::string id = formatId(c.id());
  const bool debug = c.config().container_class() == v1::DEBUG;
  v1::LaunchInfo li;

  if (!c.has_parent()) {
    if (c.config().share_pid_namespace()) {
      return fail(Code::InvalidArgument,
                  "container '" + id +
                      "': share_pid_namespace is only valid for a nested container (it has no parent)");
    }
    if (debug) {
      return fail(Code::InvalidArgument,
                  "container '" + id + "': a DEBUG container needs a parent");
    }
    if (!config.host_pid_namespace()) addNamespace(li, v1::Namespace::CREATE);
    return li;
  }

  const int parent_pid = c.parent().pid();
  if (parent_pid <= 0) {
    return fail(Code::FailedPrecondition,
                "container '" + id + "': parent '" + formatId(c.parent().id()) +
                    "' has no running init (pid " + std::to_string(parent_pid) + ")");
  }
  addNamespace(li, v1::Namespace::ENTER, "/proc/" + std::to_string(parent_pid) + "/ns/pid");
  if (!debug && !c.config().share_pid_namespace()) addNamespace(li, v1::Namespace::CREATE);
  return li;
}

PidIsolator::PidIsolator(Config config)
    : config_(std::move(config)), log_(sdk::makeLogger("warren.isolator.pid")) {}

Result<std::unique_ptr<PidIsolator>> PidIsolator::create(const v1::PluginContext& ctx) {
  auto config = sdk::parseConfig<Config>(ctx);
  if (!config) return fail(std::move(config.error()).context("pid isolator"));
  return std::unique_ptr<PidIsolator>(new PidIsolator(std::move(*config)));
}

v1::PluginInfo PidIsolator::describe() {
  v1::PluginInfo i;
  i.add_container_fields("share_pid_namespace");
  return i;
}

v1::PluginInfo PidIsolator::info() const {
  v1::PluginInfo i = describe();
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  return i;
}

Result<v1::LaunchInfo> PidIsolator::prepare(const v1::PrepareRequest& req) {
  auto li = pidNamespaces(req.container(), config_);
  if (!li) return li;
  const auto& ns = li->namespaces();
  log_->debug("container_id={} pid namespace: {}", formatId(req.container().id()),
              ns.empty() ? "host"
              : ns.size() == 2 ? "nested under parent's"
              : ns[0].action() == v1::Namespace::CREATE ? "new"
                                                        : "parent's");
  return li;
}

Result<v1::ContainerStatus> PidIsolator::status(const v1::ContainerRequest& req) {
  v1::ContainerStatus st;
  *st.mutable_id() = req.id();
  if (req.has_state() && req.state().pid() > 0) st.set_pid(req.state().pid());
  return st;
}

}  // namespace warren::isolators::pid
