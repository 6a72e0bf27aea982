// A registry that can stall a layer mid-transfer: the Registry HTTP API v2
// read paths (GET /v2/<name>/manifests/<tag|digest>, /v2/<name>/blobs/<digest>)
// served over loopback from an OCI layout built by the test. docker-registry
// cannot be told to stall a blob halfway, which is what cancellation tests
// need; everything else about the pull (HTTP, digests, extraction) is real.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace warren::testing {

class SlowRegistry {
 public:
  // `layout`: an OCI layout; `tags`: tag -> manifest digest (writeOciLayout's).
  SlowRegistry(std::string layout, std::map<std::string, std::string> tags);
  ~SlowRegistry();

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // Blobs larger than `min_size` are sent up to `stall_after` bytes, then
  // held until release() (or until the client goes away).
  void stallBlobsOver(size_t min_size, size_t stall_after);
  void release();  // every stalled and later blob is sent at full speed
  // Blob transfers that reached their stall point / that the client aborted.
  int stalled() const { return stalled_.load(); }
  int aborted() const { return aborted_.load(); }

 private:
  void serve(int fd);
  void sendBlob(int fd, const std::string& path, const std::string& type, const std::string& digest);

  std::string layout_;
  std::map<std::string, std::string> tags_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> conns_;
  size_t min_size_ = 0, stall_after_ = 0;
  bool released_ = false;
  std::atomic<int> stalled_{0}, aborted_{0};
};

}  // namespace warren::testing
