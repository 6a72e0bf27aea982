// Helpers for the CLI tests: run the built `warren`, and reduce a JSON
// document to its schema (keys and value types) for golden-file checks.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_env.hpp"

namespace warren::testing {

// Every leaf replaced by its type name ("string", "number", "boolean",
// "null"); an array by [schema of its first element] ([] when empty); object
// keys kept. Maps keyed by data (env, labels) are reduced to {} by the caller.
nlohmann::json schemaOf(const nlohmann::json& j);

// Compares schemaOf(doc) with golden/<name>.json; with
// WARREN_UPDATE_GOLDEN=1 in the environment, rewrites the golden file.
::testing::AssertionResult matchesGolden(const std::string& name, const nlohmann::json& doc);

// Files and dirs under `dir`, recursively (for "nothing touched on disk").
std::vector<std::string> treeOf(const std::string& dir);

}  // namespace warren::testing
