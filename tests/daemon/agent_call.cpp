// agent_call SOCKET JSON: one call to warrend; prints "<status> <body>" on
// one line. Linked statically so a test container (busybox rootfs) can run
// it: the "executor" of the executor-in-a-container tests.
#include <cstdio>
#include <string>

#include "client.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: agent_call SOCKET JSON\n");
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
