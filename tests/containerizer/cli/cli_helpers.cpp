#include "cli_helpers.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace warren::testing {

nlohmann::json schemaOf(const nlohmann::json& j) {
  if (j.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, v] : j.items()) o[k] = schemaOf(v);
    return o;
  }
  if (j.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    if (!j.empty()) a.push_back(schemaOf(j[0]));
    return a;
  }
  if (j.is_string()) return "string";
  if (j.is_number()) return "number";
  if (j.is_boolean()) return "boolean";
  return "null";
}

::testing::AssertionResult matchesGolden(const std::string& name, const nlohmann::json& doc) {
  std::string path = std::string(WARREN_CLI_GOLDEN_DIR) + "/" + name + ".json";
  nlohmann::json got = schemaOf(doc);
  const char* update = std::getenv("WARREN_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << got.dump(2) << "\n";
    return ::testing::AssertionSuccess();
  }
  std::ifstream f(path);
  if (!f) return ::testing::AssertionFailure() << "no golden file " << path << "; schema:\n" << got.dump(2);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json want = nlohmann::json::parse(ss.str(), nullptr, false);
  if (want == got) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << name << " schema differs from " << path << "\nwant:\n"
                                       << want.dump(2) << "\ngot:\n" << got.dump(2);
}

std::vector<std::string> treeOf(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace warren::testing
