#include "mapping.hpp"

#include <signal.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "warren/sdk/ids.hpp"

namespace warren::daemon {

namespace {
// 1.5, 64, 1e+20: a scalar as a person would write it in an error.
std::string shortNumber(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
}  // namespace

Result<v1::ContainerID> fromAgentId(const agent::v1::ContainerID& id, const std::string& field) {
  std::vector<std::string> names;
  const agent::v1::ContainerID* p = &id;
  for (int depth = 0; p != nullptr; ++depth) {
    if (depth > 64) return fail(Code::InvalidArgument, "'" + field + "' is nested too deeply");
    if (p->value().empty()) return fail(Code::InvalidArgument, "'" + field + "' has an empty 'value'");
    names.push_back(p->value());
    p = p->has_parent() ? &p->parent() : nullptr;
  }
  v1::ContainerID out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) out.add_path(*it);
  auto ok = validateId(out);
  if (!ok) return fail(Code::InvalidArgument, "'" + field + "': " + ok.error().message());
  return out;
}

agent::v1::ContainerID toAgentId(const v1::ContainerID& id) {
  agent::v1::ContainerID out;
  agent::v1::ContainerID* cur = &out;
  for (int i = id.path_size() - 1; i >= 0; --i) {
    cur->set_value(id.path(i));
    if (i > 0) cur = cur->mutable_parent();
  }
  return out;
}

Result<v1::ContainerConfig> toConfig(const LaunchShape& s, const std::string& agent_dir) {
  v1::ContainerConfig c;
  if (s.warren != nullptr && s.warren->has_config()) c = s.warren->config();
  if (s.command != nullptr) {
    const auto& cmd = *s.command;
    if (!cmd.has_value() || cmd.value().empty()) {
      return fail(Code::InvalidArgument, "'command.value' is empty");
    }
    auto* out = c.mutable_command();
    out->Clear();
    out->set_value(cmd.value());
    out->set_shell(cmd.shell());
    // Mesos: with shell=false, `arguments` is the whole argv (argv[0] first).
    if (!cmd.shell()) {
      for (int i = 1; i < cmd.arguments_size(); ++i) out->add_arguments(cmd.arguments(i));
    } else if (cmd.arguments_size() > 0) {
      return fail(Code::InvalidArgument, "'command.arguments' needs 'command.shell' false");
    }
    if (cmd.has_user()) c.set_user(cmd.user());
    for (const auto& v : cmd.environment().variables()) {
      if (v.type() != agent::v1::Environment::Variable::VALUE) {
        return fail(Code::InvalidArgument, "environment variable '" + v.name() +
                                               "': only VALUE variables are supported");
      }
      if (v.name().empty()) return fail(Code::InvalidArgument, "an environment variable has no name");
      (*c.mutable_env())[v.name()] = v.value();
    }
  }
  // With an image and no command, the image's entrypoint/cmd is the command.
  if ((!c.has_command() || c.command().value().empty()) && c.image().empty()) {
    return fail(Code::InvalidArgument, "the launch has no command ('command.value')");
  }
  if (s.resources != nullptr) {
    auto* r = c.mutable_resources();
    for (const auto& res : *s.resources) {
      double v = res.scalar().value();
      if (!res.has_scalar() || !(v > 0) || !std::isfinite(v)) {
        return fail(Code::InvalidArgument, "resource '" + res.name() + "' needs a positive, finite scalar");
      }
      // Mesos gives mem and disk in MB; a value whose bytes do not fit 64 bits is
      // refused here rather than converted (a double past 2^64 has no uint64_t).
      constexpr double kMiB = 1024.0 * 1024.0;
      constexpr double kMaxMiB = 17592186044415.0;  // (2^64 - 1) / 2^20, rounded down
      auto mib = [&](const char* what) -> Result<uint64_t> {
        if (v > kMaxMiB) {
          return fail(Code::InvalidArgument, std::string("resource '") + what + "' of " + shortNumber(v) +
                                                 " MB is too large");
        }
        return static_cast<uint64_t>(v * kMiB);
      };
      if (res.name() == "cpus") {
        r->set_cpus(v);
      } else if (res.name() == "mem") {
        WARREN_ASSIGN_OR_RETURN(uint64_t b, mib("mem"));
        r->set_mem_bytes(b);
      } else if (res.name() == "disk") {
        WARREN_ASSIGN_OR_RETURN(uint64_t b, mib("disk"));
        r->set_disk_bytes(b);
      } else if (res.name() == "gpus") {
        if (v != std::floor(v) || v > 4096) {
          return fail(Code::InvalidArgument, "resource 'gpus' of " + shortNumber(v) +
                                                 " is not a whole number of GPUs (at most 4096)");
        }
        r->set_gpus(static_cast<uint32_t>(v));
      } else {
        return fail(Code::InvalidArgument, "unknown resource '" + res.name() + "' (cpus, mem, disk, gpus)");
      }
    }
  }
  if (s.container != nullptr) {
    if (s.container->type() == agent::v1::ContainerInfo::DOCKER) {
      return fail(Code::InvalidArgument, "'container.type' DOCKER is not supported (use MESOS)");
    }
    if (s.container->has_hostname()) c.set_hostname(s.container->hostname());
    if (s.container->has_tty_info()) {
      c.set_tty(true);
      const auto& w = s.container->tty_info().window_size();
      if (w.rows() > 65535 || w.columns() > 65535) {
        return fail(Code::InvalidArgument, "'container.tty_info.window_size' of " + std::to_string(w.rows()) +
                                               " x " + std::to_string(w.columns()) + " is too large");
      }
      c.set_tty_rows(w.rows());
      c.set_tty_columns(w.columns());
    }
  }
  if (s.warren != nullptr && s.warren->agent_api()) {
    v1::Volume v;
    v.set_source(v1::Volume::HOST_PATH);
    v.set_source_path(agent_dir);
    v.set_container_path(kAgentMountDir);
    v.set_read_only(true);
    *c.add_volumes() = v;
    (*c.mutable_env())[kAgentSocketEnv] = std::string(kAgentMountDir) + "/" + kAgentSocketName;
  }
  return c;
}

agent::v1::WaitResult toWaitResult(const v1::Termination& t) {
  agent::v1::WaitResult w;
  if (t.signal() > 0) {
    w.set_exit_status(t.signal() & 0x7f);
  } else if (t.has_exit_status()) {
    w.set_exit_status((t.exit_code() & 0xff) << 8);
  } else if (t.wait_status() != 0) {
    w.set_exit_status(t.wait_status());
  }
  using T = v1::Termination;
  switch (t.reason()) {
    case T::COMMAND_EXITED:
      w.set_state(t.exit_code() == 0 ? agent::v1::TASK_FINISHED : agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_COMMAND_EXECUTOR_FAILED);
      break;
    case T::KILLED:
    case T::PARENT_DESTROYED:
    case T::GROUP_MEMBER_FAILED:
      w.set_state(agent::v1::TASK_KILLED);
      break;
    case T::MEMORY_LIMIT:
      w.set_state(agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_CONTAINER_LIMITATION_MEMORY);
      break;
    case T::LIMITATION:
      w.set_state(agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_CONTAINER_LIMITATION);
      break;
    case T::DISK_LIMIT:
      w.set_state(agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_CONTAINER_LIMITATION_DISK);
      break;
    case T::MAX_COMPLETION_TIME:
      w.set_state(agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_MAX_COMPLETION_TIME_REACHED);
      break;
    case T::LAUNCH_FAILED:
    case T::COMMAND_NOT_FOUND:
      w.set_state(agent::v1::TASK_FAILED);
      w.set_reason(agent::v1::REASON_CONTAINER_LAUNCH_FAILED);
      break;
    default:
      w.set_state(agent::v1::TASK_FAILED);
      break;
  }
  w.set_message(t.message());
  *w.mutable_termination() = t;
  return w;
}

agent::v1::ResourceStatistics toAgentStats(const v1::ResourceStatistics& s) {
  agent::v1::ResourceStatistics o;
  o.set_timestamp(s.timestamp());
  if (s.cpus_user_time_secs() > 0) o.set_cpus_user_time_secs(s.cpus_user_time_secs());
  if (s.cpus_system_time_secs() > 0) o.set_cpus_system_time_secs(s.cpus_system_time_secs());
  if (s.cpus_limit() > 0) o.set_cpus_limit(s.cpus_limit());
  if (s.mem_limit_bytes() > 0) o.set_mem_limit_bytes(s.mem_limit_bytes());
  if (s.mem_usage_bytes() > 0) {
    o.set_mem_total_bytes(s.mem_usage_bytes());
    o.set_mem_rss_bytes(s.mem_usage_bytes());
  }
  if (s.cpus_nr_throttled() > 0) o.set_cpus_nr_throttled(static_cast<uint32_t>(s.cpus_nr_throttled()));
  if (s.cpus_throttled_time_secs() > 0) o.set_cpus_throttled_time_secs(s.cpus_throttled_time_secs());
  if (s.pids_current() > 0) o.set_processes(static_cast<uint32_t>(s.pids_current()));
  return o;
}

}  // namespace warren::daemon
