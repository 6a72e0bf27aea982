// One serializer for everything the CLI prints as JSON, and the one place
// where a failure is printed and turned into an exit code.
//
// JSON rules (docs in README "JSON output"): a container ID is always the
// dotted string "pod.web"; numbers are JSON numbers (uint64 too); enums are
// their names; every field is present, defaults included, so a consumer never
// probes for keys. An error is one object on stderr:
//   {"error":{"code":"NotFound","message":"unknown container 'x'"}}
#pragma once

#include <string>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "warren/sdk/result.hpp"

namespace warren::cli {

// Exit codes, as Podman's: 125 warren itself failed (bad flags included),
// 126 the command could not be executed, 127 it was not found; otherwise the
// container's own code (128+N when killed by signal N).
inline constexpr int kExitWarren = 125;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

nlohmann::json toJson(const google::protobuf::Message& m);

class Output {
 public:
  static Output& get();
  void setJson(bool json) { json_ = json; }
  bool json() const { return json_; }
  // Prints the error once (text or JSON on stderr); returns kExitWarren.
  int fail(const Error& e);
  // A document on stdout: pretty JSON.
  void print(const nlohmann::json& j);
  // The fd that --json documents go to (run --json moves the container's
  // stdout away from it).
  void setStdoutFd(int fd) { fd_ = fd; }

 private:
  bool json_ = false;
  int fd_ = 1;
};

}  // namespace warren::cli
