// Fuzz target: the task-group JSON spec of `warren group launch`
// (containerizer/cli/group.cpp parseGroupSpec: nlohmann JSON, then protobuf
// JSON into warren.v1.TaskGroup). Invariants: no crash, UB or escaping
// exception on any input; an error names the spec's source; an accepted spec
// prints as protobuf JSON that parses back to the same TaskGroup.
#include <cstdint>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "fuzz_check.hpp"
#include "group.hpp"

using namespace warren;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto g = cli::parseGroupSpec(text, "fuzz.json");
  if (!g) {
    const std::string& m = g.error().message();
    FUZZ_CHECK(m.find("'fuzz.json'") != std::string::npos, "error without the source: %s", m.c_str());
    return 0;
  }
  std::string json;
  FUZZ_CHECK(google::protobuf::util::MessageToJsonString(*g, &json).ok(), "accepted group does not print");
  auto again = cli::parseGroupSpec(json, "printed.json");
  FUZZ_CHECK(again.has_value(), "printed group does not parse: %s", again.error().message().c_str());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*g, *again),
             "group does not round-trip through JSON: %s", json.c_str());
  return 0;
}
