// warren-agent: calls warrend's API from a shell, one JSON body per argument,
// in order. Prints each answer's body; exits 0 when every answer was 2xx,
// 1 otherwise (the failing status and body on stderr), 2 on bad usage.
//   warren-agent [--socket PATH] [--pipeline] JSON [JSON...]
// --pipeline sends every call at once on one connection (answered in order),
// instead of one connection per call made after the previous answer: a
// client that knows its calls (LAUNCH, WAIT, REMOVE) saves the round trips.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "client.hpp"

int main(int argc, char** argv) {
  std::string socket = "/run/warren/warrend.sock";
  if (const char* s = std::getenv("WARREN_AGENT_SOCKET")) socket = s;
  bool pipeline = false;
  int i = 1;
  while (i < argc) {
    if (i + 1 < argc && std::strcmp(argv[i], "--socket") == 0) {
      socket = argv[i + 1];
      i += 2;
    } else if (std::strcmp(argv[i], "--pipeline") == 0) {
      pipeline = true;
      ++i;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: warren-agent [--socket PATH] [--pipeline] JSON [JSON...]\n");
    return 2;
  }
  auto report = [](const warren::daemon::ClientReply& r) {
    if (r.status < 200 || r.status > 299) {
      std::fprintf(stderr, "warren-agent: %d %s\n", r.status, r.status ? r.body.c_str() : r.error.c_str());
      return false;
    }
    std::fputs(r.body.c_str(), stdout);
    return true;
  };
  if (pipeline) {
    std::vector<std::string> bodies(argv + i, argv + argc);
    for (const auto& r : warren::daemon::callAgentPipelined(socket, bodies)) {
      if (!report(r)) return 1;
    }
    return 0;
  }
  for (; i < argc; ++i) {
    if (!report(warren::daemon::callAgent(socket, argv[i]))) return 1;
  }
  return 0;
}
