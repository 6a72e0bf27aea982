#include "fields.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <set>

namespace warren::core {
namespace {

namespace pb = google::protobuf;

void collect(const pb::Message& m, const std::string& prefix, std::vector<std::string>& out) {
  std::vector<const pb::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);  // set (non-default) fields only
  for (const auto* f : fields) {
    std::string name = prefix + f->name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() && !f->is_map() &&
        !coreConfigField(name)) {
      size_t before = out.size();
      collect(m.GetReflection()->GetMessage(m, f), name + ".", out);
      if (out.size() == before) continue;  // a message with nothing set in it
    } else {
      out.push_back(name);
    }
  }
}

}  // namespace

std::vector<std::string> setConfigFields(const v1::ContainerConfig& config) {
  std::vector<std::string> out;
  collect(config, "", out);
  return out;
}

bool coreConfigField(const std::string& name) {
  // What the core itself does with a config. Anything else - resources,
  // volumes, network_mode, share_pid_namespace, user_namespace, fields yet
  // to come - must be taken by an isolator. (hold_until_start: OCI
  // create/start, acted on by the core and warren-init.)
  static const std::set<std::string> kCore = {
      "command",       "env",         "user",         "working_dir",  "rootfs",
      "image",         "container_class", "hostname", "isolator_settings", "inherit_stdio",
      "capabilities",  "open_stdin",  "tty",          "tty_rows",     "tty_columns",
      "rootfs_writable", "max_completion_time_ms", "hold_until_start"};
  return kCore.count(name) > 0;
}

}  // namespace warren::core
