// Image pull/unpack progress for the CLI. On a terminal, the image
// provisioner's progress lines replace each other on one status line; when
// stderr is not a terminal they are printed as plain lines.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

namespace warren::cli {

class ProgressSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ProgressSink() : tty_(::isatty(2) == 1) {}
  ~ProgressSink() override { endLine(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string name(msg.logger_name.begin(), msg.logger_name.end());
    if (name.rfind("warren.plugin.image", 0) != 0 || msg.level != spdlog::level::info) return;
    std::string text(msg.payload.begin(), msg.payload.end());
    if (text.find("pulling") == std::string::npos && text.find("unpacked") == std::string::npos) return;
    if (tty_) {
      if (text.size() > 100) text = text.substr(0, 97) + "...";
      std::fprintf(stderr, "\r\033[K%s", text.c_str());
      open_line_ = true;
    } else {
      std::fprintf(stderr, "%s\n", text.c_str());
    }
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  void endLine() {
    if (open_line_) std::fputc('\n', stderr);
    open_line_ = false;
  }
  bool tty_;
  bool open_line_ = false;
};

}  // namespace warren::cli
