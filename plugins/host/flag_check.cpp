#include "flag_check.hpp"

#include <algorithm>

namespace warren::plugins {

Result<void> checkFlagChoice(const v1::FlagSpec& spec, const std::string& given_as, const std::string& value) {
  if (spec.choices().empty()) return {};
  if (std::find(spec.choices().begin(), spec.choices().end(), value) != spec.choices().end()) return {};
  std::string list;
  for (int i = 0; i < spec.choices_size(); ++i) {
    list += (i == 0 ? "" : i + 1 == spec.choices_size() ? " or " : ", ") + spec.choices(i);
  }
  return fail(Code::InvalidArgument, "invalid --" + given_as + " '" + value + "' (expected " + list + ")");
}

Result<void> checkPluginFlags(const std::map<std::string, std::string>& given,
                              const std::vector<PluginDescription>& found) {
  for (const auto& [name, value] : given) {
    const v1::FlagSpec* spec = nullptr;
    for (const auto& d : found) {
      for (const auto& f : d.info.flags()) {
        if (f.name() == name || std::find(f.aliases().begin(), f.aliases().end(), name) != f.aliases().end()) {
          spec = &f;
          break;
        }
      }
      if (spec != nullptr) break;
    }
    if (spec == nullptr) {
      return fail(Code::InvalidArgument, "--" + name + " is not a flag of any plugin found (see `warren plugins`)");
    }
    WARREN_TRY(checkFlagChoice(*spec, name, value));
  }
  return {};
}

}  // namespace warren::plugins
