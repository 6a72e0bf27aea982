#include "log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

namespace warren::oci {
namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(ns));
  return out;
}

// runc's level names: debug, info, warning, error.
std::string levelName(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warning";
    default: return "error";
  }
}

class FileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  FileSink(int fd, bool json) : fd_(fd), json_(json) {}
  ~FileSink() override { ::close(fd_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    std::string text(m.payload.begin(), m.payload.end());
    std::string line;
    if (json_) {
      line = nlohmann::json{{"level", levelName(m.level)}, {"msg", text}, {"time", rfc3339(m.time)}}.dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      line = "time=\"" + rfc3339(m.time) + "\" level=" + levelName(m.level) + " msg=" + nlohmann::json(text).dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    line += "\n";
    (void)!::write(fd_, line.data(), line.size());
  }
  void flush_() override {}

 private:
  int fd_;
  bool json_;
};

}  // namespace

Result<std::shared_ptr<spdlog::logger>> openLog(const std::string& path, const std::string& format, bool debug) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path.empty()) {
    sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  } else {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return failErrno("open --log '" + path + "'");
    sink = std::make_shared<FileSink>(fd, format == "json");
  }
  auto log = std::make_shared<spdlog::logger>("warren-oci", sink);
  log->set_level(debug ? spdlog::level::debug : spdlog::level::warn);
  log->flush_on(spdlog::level::trace);
  return log;
}

void logError(const std::shared_ptr<spdlog::logger>& log, const std::string& msg) {
  if (log) log->error("{}", msg);
  std::fprintf(stderr, "warren-oci: %s\n", msg.c_str());
}

}  // namespace warren::oci
