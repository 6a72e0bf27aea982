// Cancelling a long plugin call (an image pull): the host asks a call to stop
// by creating a file the request names (ProvisionRequest.cancel_files). It
// works the same for a plugin in warren's process and in its own process,
// and needs no new ABI entry point. The call polls cancelled() as it goes
// (between layers, from the HTTP transfer loop, per extracted entry): at most
// one stat() per file every 50 ms, so polling it in a tight loop is cheap.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace warren::sdk {

class CancelToken {
 public:
  CancelToken() = default;
  explicit CancelToken(std::vector<std::string> files) : files_(std::move(files)) {}
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // True once any of the files exists (and from then on). Thread-safe.
  bool cancelled() const {
    if (hit_.load()) return true;
    if (files_.empty()) return false;
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    int64_t next = next_check_ns_.load();
    if (now < next || !next_check_ns_.compare_exchange_strong(next, now + kPollNs)) return false;
    for (const auto& f : files_) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) {
        hit_.store(true);
        return true;
      }
    }
    return false;
  }

  // The files polled (for messages).
  const std::vector<std::string>& files() const { return files_; }

 private:
  static constexpr int64_t kPollNs = 50'000'000;
  std::vector<std::string> files_;
  mutable std::atomic<bool> hit_{false};
  mutable std::atomic<int64_t> next_check_ns_{0};
};

// A shared token for one call, or nullptr when nothing can cancel it.
inline std::shared_ptr<const CancelToken> cancelTokenFor(const std::vector<std::string>& files) {
  if (files.empty()) return nullptr;
  return std::make_shared<const CancelToken>(files);
}

}  // namespace warren::sdk
