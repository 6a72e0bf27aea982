// warren-agent: calls warrend's API from a shell, one JSON body per argument,
// in order. Prints each answer's body; exits 0 when every answer was 2xx,
// 1 otherwise (the failing status and body on stderr), 2 on bad usage.
//   warren-agent [--socket PATH] JSON [JSON...]
#include <cstdio>
#include <cstring>
#include <string>

#include "client.hpp"

int main(int argc, char** argv) {
  std::string socket = "/run/warren/warrend.sock";
  if (const char* s = std::getenv("WARREN_AGENT_SOCKET")) socket = s;
  int i = 1;
  if (i + 1 < argc && std::strcmp(argv[i], "--socket") == 0) {
    socket = argv[i + 1];
    i += 2;
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: warren-agent [--socket PATH] JSON [JSON...]\n");
    return 2;
  }
  for (; i < argc; ++i) {
    auto r = warren::daemon::callAgent(socket, argv[i]);
    if (r.status < 200 || r.status > 299) {
      std::fprintf(stderr, "warren-agent: %d %s\n", r.status, r.status ? r.body.c_str() : r.error.c_str());
      return 1;
    }
    std::fputs(r.body.c_str(), stdout);
  }
  return 0;
}
