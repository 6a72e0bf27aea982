#include "progress.hpp"

#include <atomic>
#include <cmath>

namespace warren::cli {

std::string ProgressDisplay::bytes(double n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && u < 4) {
    n /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  return buf;
}

std::string ProgressDisplay::bar(uint64_t done, uint64_t total, double rate, int width) {
  std::string s = "[";
  int filled = total ? static_cast<int>(std::lround(static_cast<double>(width) * static_cast<double>(done) /
                                                    static_cast<double>(total)))
                     : 0;
  if (filled > width) filled = width;
  s += std::string(static_cast<size_t>(filled), '=');
  s += std::string(static_cast<size_t>(width - filled), ' ');
  s += "] " + bytes(static_cast<double>(done));
  if (total) s += " / " + bytes(static_cast<double>(total));
  if (rate > 0) {
    s += "  " + bytes(rate) + "/s";
    if (total > done) {
      long eta = std::lround(static_cast<double>(total - done) / rate);
      char buf[24];
      std::snprintf(buf, sizeof buf, "  ETA %ld:%02ld", eta / 60, eta % 60);
      s += buf;
    }
  }
  return s;
}

std::string ProgressDisplay::line(const std::string& item, const Layer& l) const {
  std::string name = item.size() > kNameWidth ? item.substr(0, kNameWidth) : item;
  name.resize(kNameWidth, ' ');
  if (l.state == "cached") return name + "  cached";
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - l.start).count();
  double rate = secs > 0.05 ? static_cast<double>(l.done) / secs : 0;
  if (l.state == "done") return name + "  done " + bytes(static_cast<double>(l.done));
  return name + "  " + bar(l.done, l.total, rate, 30);
}

void ProgressDisplay::onEvent(const ProgressEvent& e) {
  std::lock_guard<std::mutex> g(mu_);
  bool isNew = !layers_.count(e.item);
  auto& l = layers_[e.item];
  if (isNew) {
    order_.push_back(e.item);
    l.start = std::chrono::steady_clock::now();
  }
  if (e.total) l.total = e.total;
  if (e.done) l.done = e.done;
  bool changedState = false;
  if (e.kind == "layer_cached") {
    l.state = "cached";
    changedState = true;
  } else if (e.kind == "layer_done") {
    l.state = "done";
    if (!l.done) l.done = l.total;
    fetched_ = true;
    changedState = true;
  } else {
    fetched_ = fetched_ || e.done > 0;
  }
  if (tty_) {
    auto now = std::chrono::steady_clock::now();
    if (changedState || isNew || now - last_draw_ > std::chrono::milliseconds(100)) {
      last_draw_ = now;
      redraw();
    }
    return;
  }
  // Not a terminal: one plain line when a layer starts and when it ends.
  if (isNew && l.state.empty()) {
    std::fprintf(out_, "%s: fetching%s\n", e.item.c_str(),
                 l.total ? (" " + bytes(static_cast<double>(l.total))).c_str() : "");
  }
  if (changedState) std::fprintf(out_, "%s\n", line(e.item, l).c_str());
  std::fflush(out_);
}

void ProgressDisplay::redraw() {
  if (drawn_ > 0) std::fprintf(out_, "\033[%dA", drawn_);
  for (const auto& item : order_) std::fprintf(out_, "\r\033[K%s\n", line(item, layers_[item]).c_str());
  drawn_ = static_cast<int>(order_.size());
  std::fflush(out_);
}

void ProgressDisplay::finish(const std::string& reference) {
  std::lock_guard<std::mutex> g(mu_);
  if (tty_ && !order_.empty()) redraw();
  if (!fetched_) std::fprintf(out_, "%s: cached (nothing fetched)\n", reference.c_str());
  std::fflush(out_);
}

}  // namespace warren::cli

namespace warren::cli {

namespace {
std::atomic<ProgressDisplay*> g_active{nullptr};
}

ProgressDisplay* activeProgress() { return g_active.load(); }
void setActiveProgress(ProgressDisplay* p) { g_active.store(p); }

}  // namespace warren::cli

namespace warren::cli {

std::optional<ProgressEvent> progressOf(const std::string& kind, const std::string& item, uint64_t done,
                                        uint64_t total, const std::string& message) {
  ProgressEvent e{"", item, done, total, message};
  if (kind == "cached") {
    e.kind = "layer_cached";
  } else if (kind == "progress") {
    if (message == "unpacked" || (total > 0 && done >= total)) e.kind = "layer_done";
    else if (done == 0) e.kind = "layer_start";
    else e.kind = "layer_progress";
  } else {
    return std::nullopt;
  }
  return e;
}

}  // namespace warren::cli
