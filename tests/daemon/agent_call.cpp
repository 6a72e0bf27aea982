// agent_call SOCKET JSON: one call to warrend; prints "<status> <body>" on
// one line. Linked statically so a test container (busybox rootfs) can run
// it: the "executor" of the executor-in-a-container tests.
//
// agent_call --stream SOCKET JSON UNTIL SECONDS: a streaming call (SUBSCRIBE);
// prints "<status>" (and the body when not 200), then one record per line,
// until a record contains UNTIL or SECONDS passed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client.hpp"
#include "stream_client.hpp"

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--stream") {
    auto s = warren::daemon::openOutputStream(argv[2], argv[3]);
    std::printf("%d%s%s\n", s.status, s.status == 200 ? "" : " ", s.status == 200 ? "" : s.body.c_str());
    std::fflush(stdout);
    if (s.status != 200) return s.status == 0 ? 1 : 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[5]));
    std::string rec;
    while (std::chrono::steady_clock::now() < end) {
      if (!warren::daemon::nextRecord(s, &rec, std::chrono::milliseconds(200))) {
        if (s.error == "timeout") continue;
        break;
      }
      std::printf("%s\n", rec.c_str());
      std::fflush(stdout);
      if (rec.find(argv[4]) != std::string::npos) break;
    }
    warren::daemon::closeStream(s);
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: agent_call SOCKET JSON | agent_call --stream SOCKET JSON UNTIL SECONDS\n");
    return 2;
  }
  auto r = warren::daemon::callAgent(argv[1], argv[2]);
  if (r.status == 0) {
    std::printf("0 %s\n", r.error.c_str());
    return 1;
  }
  std::string body = r.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  std::printf("%d %s\n", r.status, body.c_str());
  return 0;
}
