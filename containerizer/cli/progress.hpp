// Pull progress: one bar per layer with bytes, rate and ETA on a terminal;
// plain lines otherwise; "cached" for a layer (or an image) nothing was
// fetched for. Fed by the provisioner's progress events.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace warren::cli {

struct ProgressEvent {
  std::string kind;  // "layer_start", "layer_progress", "layer_done", "layer_cached", ...
  std::string item;  // the layer (digest or label)
  uint64_t done = 0;
  uint64_t total = 0;  // 0: unknown
  std::string message;
};

class ProgressDisplay {
 public:
  ProgressDisplay(FILE* out, bool tty) : out_(out), tty_(tty) {}
  void onEvent(const ProgressEvent& e);
  // Ends the display; says "cached" when no layer was fetched.
  void finish(const std::string& reference);
  bool fetchedAny() const { return fetched_; }

  static constexpr size_t kNameWidth = 30;  // "layer 1/2 sha256:0123456789ab"
  static std::string bar(uint64_t done, uint64_t total, double rate, int width);
  static std::string bytes(double n);

 private:
  struct Layer {
    uint64_t done = 0, total = 0;
    std::chrono::steady_clock::time_point start;
    std::string state;  // "", "done", "cached"
  };
  void redraw();
  std::string line(const std::string& item, const Layer& l) const;

  FILE* out_;
  bool tty_;
  bool fetched_ = false;
  int drawn_ = 0;
  std::vector<std::string> order_;
  std::map<std::string, Layer> layers_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace warren::cli

namespace warren::cli {

// The display that pull progress goes to while a command pulls (images pull,
// run/launch --image); null otherwise.
ProgressDisplay* activeProgress();
void setActiveProgress(ProgressDisplay* p);

// A plugin's event (Options.plugin_event_sink) as a layer event: "cached";
// "progress" with done 0 (start), done < total, or done == total / message
// "unpacked" (done). Other kinds are not progress: nullopt.
std::optional<ProgressEvent> progressOf(const std::string& kind, const std::string& item, uint64_t done,
                                        uint64_t total, const std::string& message);

}  // namespace warren::cli
