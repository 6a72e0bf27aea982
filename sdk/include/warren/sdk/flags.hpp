// Declaring a plugin's operator flags in its static describe(): warren's
// front ends register each as --NAME, WARREN_NAME and `NAME = value` in
// --config, and the host hands the value (or the default) to the plugin in
// PluginContext.flags.
#pragma once

#include <initializer_list>

#include "warren/v1/plugin.pb.h"

namespace warren::sdk {

// type: string|bool|int|duration|bytes|list.
inline v1::FlagSpec* addFlag(v1::PluginInfo& info, const char* name, const char* type,
                             const char* default_value, const char* help) {
  auto* f = info.add_flags();
  f->set_name(name);
  f->set_type(type);
  f->set_default_value(default_value);
  f->set_help(help);
  return f;
}

// A flag that takes one of a fixed set of values (FlagSpec.choices).
inline v1::FlagSpec* addChoiceFlag(v1::PluginInfo& info, const char* name, const char* default_value,
                                   std::initializer_list<const char*> choices, const char* help) {
  auto* f = addFlag(info, name, "string", default_value, help);
  for (const char* c : choices) f->add_choices(c);
  return f;
}

}  // namespace warren::sdk
