#include "logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace warren::cli {

namespace {

// syslog priorities for the journal's "<N>" prefix.
int priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
  }
}

std::string timestamp(const spdlog::details::log_msg& m) {
  auto t = std::chrono::system_clock::to_time_t(m.time);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(m.time.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

enum class Style { Text, Json, Journal };

// Whether a log line says what the final error says: the line contains the
// error, or the error minus some of the context added on its way up ("ctx:
// "), as long as what remains is most of the error.
bool repeatsError(const std::string& line, const std::string& error) {
  if (error.empty()) return false;
  if (line.find(error) != std::string::npos || error.find(line) != std::string::npos) return true;
  size_t min = std::max<size_t>(16, error.size() / 2);
  for (size_t p = error.find(": "); p != std::string::npos; p = error.find(": ", p + 2)) {
    std::string rest = error.substr(p + 2);
    if (rest.size() < min) break;
    if (line.find(rest) != std::string::npos) return true;
  }
  return false;
}

class CliSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  CliSink(Style style, FILE* out, bool hold) : style_(style), out_(out), holding_(hold) {}
  ~CliSink() override {
    std::lock_guard<std::mutex> g(mutex_);
    emitHeld("");
    if (out_ != stderr) std::fclose(out_);
  }
  void release(const std::string& error) {
    std::lock_guard<std::mutex> g(mutex_);
    emitHeld(error);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    std::string text(m.payload.begin(), m.payload.end());
    std::string logger(m.logger_name.begin(), m.logger_name.end());
    std::string line;
    switch (style_) {
      case Style::Text:
        line = timestamp(m) + " " + std::string(spdlog::level::to_string_view(m.level).data()) + " " +
               logger + ": " + text;
        break;
      case Style::Json:
        line = nlohmann::json{{"time", timestamp(m)},
                              {"level", std::string(spdlog::level::to_string_view(m.level).data())},
                              {"logger", logger},
                              {"message", text}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        break;
      case Style::Journal:
        line = "<" + std::to_string(priority(m.level)) + ">" + logger + ": " + text;
        break;
    }
    if (holding_) {
      held_.push_back({text, line});
      return;
    }
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }
  void flush_() override { std::fflush(out_); }

 private:
  void emitHeld(const std::string& error) {
    std::set<std::string> seen;  // the library may log one failure at two levels
    for (const auto& [text, line] : held_) {
      if (repeatsError(text, error) || !seen.insert(text).second) continue;
      std::fprintf(out_, "%s\n", line.c_str());
    }
    held_.clear();
    holding_ = false;
    std::fflush(out_);
  }

  Style style_;
  FILE* out_;
  bool holding_;
  std::vector<std::pair<std::string, std::string>> held_;
};

std::shared_ptr<CliSink>& theSink() {
  static std::shared_ptr<CliSink> s;
  return s;
}

}  // namespace

bool stderrIsJournal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st{};
  if (fstat(2, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

Result<std::shared_ptr<spdlog::logger>> setUpLogging(const LogSettings& s) {
  auto level = spdlog::level::from_str(s.level);
  if (level == spdlog::level::off && s.level != "off") {
    return fail(Code::InvalidArgument, "invalid --log_level '" + s.level +
                                           "': expected trace, debug, info, warn, error, critical or off");
  }
  Style style = Style::Text;
  if (s.format == "json") style = Style::Json;
  else if (s.format != "text") {
    return fail(Code::InvalidArgument, "invalid --log_format '" + s.format + "': expected text or json");
  }
  FILE* out = stderr;
  if (!s.file.empty()) {
    out = std::fopen(s.file.c_str(), "ae");
    if (out == nullptr) {
      return fail(Code::InvalidArgument, "cannot open --log_file '" + s.file + "': " + std::strerror(errno));
    }
  } else if (style == Style::Text && stderrIsJournal()) {
    style = Style::Journal;
  }
  // Lines on stderr are held back until the command prints its result; a
  // log file gets every line as it happens.
  auto sink = std::make_shared<CliSink>(style, out, out == stderr);
  theSink() = sink;
  auto log = std::make_shared<spdlog::logger>("warren", sink);
  log->set_level(level);
  sink->set_level(level);
  spdlog::set_default_logger(log);
  return log;
}

void releaseHeldLogs(const std::string& error) {
  if (theSink()) theSink()->release(error);
}

}  // namespace warren::cli
