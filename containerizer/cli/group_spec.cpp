// Task-group spec parsing (README, "Task groups"), apart from the commands so
// that it links alone (tests/fuzz target group_spec).
#include <cctype>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "group.hpp"

namespace warren::cli {

Result<v1::TaskGroup> parseGroupSpec(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return fail(Code::InvalidArgument, "task group spec '" + source + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object()) return fail(Code::InvalidArgument, "task group spec '" + source + "' must be a JSON object");
  if (j.contains("policy") && j["policy"].is_string()) {
    std::string p = j["policy"];
    for (auto& c : p) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (p != "KILL_GROUP" && p != "INDEPENDENT") {
      return fail(Code::InvalidArgument, "task group spec '" + source + "': unknown policy '" +
                                             j["policy"].get<std::string>() + "' (kill_group or independent)");
    }
    j["policy"] = p;
  }
  v1::TaskGroup g;
  google::protobuf::util::JsonParseOptions o;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &g, o);
  if (!st.ok()) {
    return fail(Code::InvalidArgument, "task group spec '" + source + "': " + std::string(st.message()));
  }
  return g;
}

}  // namespace warren::cli
