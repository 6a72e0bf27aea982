// Checking the values given for plugin-declared flags (PluginInfo.flags)
// against their declarations, shared by the front ends and the core so that
// one bad value gets one message wherever it was given.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plugin_host.hpp"
#include "warren/sdk/result.hpp"

namespace warren::plugins {

// A value outside a declared FlagSpec.choices: "invalid --NAME 'V' (expected
// a, b or c)". Other types are the front end's to parse.
Result<void> checkFlagChoice(const v1::FlagSpec& spec, const std::string& given_as, const std::string& value);

// Every given flag must be declared by a plugin found (by name or alias) and
// hold one of its choices, if it has any: nothing given is silently ignored.
Result<void> checkPluginFlags(const std::map<std::string, std::string>& given,
                              const std::vector<PluginDescription>& found);

}  // namespace warren::plugins
