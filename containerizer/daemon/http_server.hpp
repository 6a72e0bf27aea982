// HTTP/1.1 on Unix sockets over plain fds. The bytes are framed by
// http_request.hpp (Boost.Beast's parser; no I/O there, so it is fuzzed);
// this file moves them and keeps the deadlines.
//
// One thread per connection (a long-polling WAIT holds its thread, never the
// others'), at most max_connections at once (more get 503 and are closed).
// Every read has a deadline: the header must arrive within header_timeout
// (also the keep-alive idle limit), the body within body_timeout. A body
// larger than max_body_bytes is answered 413 from its Content-Length, before
// any of it is read; the rest is drained and discarded, never kept.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "api.hpp"
#include "http_request.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::daemon {

struct ServerOptions {
  uint64_t max_body_bytes = 4 << 20;
  int max_connections = 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
};

class HttpServer {
 public:
  HttpServer(ServerOptions opts, Api& api, Supervisor& sup, std::shared_ptr<spdlog::logger> log)
      : opts_(opts), api_(api), sup_(sup), log_(std::move(log)) {}
  ~HttpServer();

  // Binds a listening socket at path (a stale socket file is replaced; a
  // live one - another warrend answering - is an error).
  Result<void> listen(const std::string& path, mode_t mode);
  void start();
  void stop();

 private:
  void acceptLoop(int listen_fd);
  void serve(UniqueFd conn, uint64_t accepted_ticks);
  // Content-Type application/recordio (ATTACH_CONTAINER_INPUT): the body is
  // read record by record as it arrives, then answered and closed.
  void serveInputStream(int fd, const HttpRequest& hdr, std::string pending, uint64_t accepted_ticks);

  ServerOptions opts_;
  Api& api_;
  Supervisor& sup_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::pair<std::string, UniqueFd>> listeners_;
  std::vector<std::thread> acceptors_;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace warren::daemon
