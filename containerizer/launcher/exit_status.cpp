// Compiled into both the launcher and warren-init: keep it dependency-free.
#include "launcher/exit_status.hpp"

#include <cstdlib>

namespace warren::launcher {

std::optional<ExitStatus> parseExitStatus(const std::string& text) {
  ExitStatus s;
  bool have_status = false, have_reason = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp);
    std::string value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "status") {
      if (value.empty()) return std::nullopt;
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0') return std::nullopt;
      s.wait_status = static_cast<int>(v);
      have_status = true;
    } else if (key == "reason") {
      if (value != "exited" && value != "signaled" && value != "exec_failed" &&
          value != "setup_failed" && value != "max_completion_time") {
        return std::nullopt;
      }
      s.reason = value;
      have_reason = true;
    } else if (key == "message") {
      s.message = value;
    }  // unknown keys: ignored (forward compatible)
  }
  if (!have_status || !have_reason) return std::nullopt;
  return s;
}

std::string formatExitStatus(const ExitStatus& s) {
  std::string msg = s.message;
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "status " + std::to_string(s.wait_status) + "\nreason " + s.reason + "\nmessage " + msg +
         "\n";
}

}  // namespace warren::launcher
