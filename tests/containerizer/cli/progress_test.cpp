// The pull progress display: bars with bytes, rate and ETA; plain lines when
// not a terminal; "cached" when nothing was fetched.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cli/progress.hpp"

namespace warren::cli {
namespace {

std::string pad(const std::string& n) { return n + std::string(ProgressDisplay::kNameWidth - n.size(), ' '); }

std::string drain(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(CliProgress, BarShowsBytesRateAndEta) {
  EXPECT_EQ(ProgressDisplay::bar(50, 100, 10, 10), "[=====     ] 50 B / 100 B  10 B/s  ETA 0:05");
  EXPECT_EQ(ProgressDisplay::bar(3 << 20, 6 << 20, 1 << 20, 4), "[==  ] 3.0 MiB / 6.0 MiB  1.0 MiB/s  ETA 0:03");
  EXPECT_EQ(ProgressDisplay::bar(100, 0, 0, 4), "[    ] 100 B");
}

TEST(CliProgress, PlainLinesWhenNotATerminal) {
  FILE* f = std::tmpfile();
  ProgressDisplay d(f, false);
  d.onEvent({"layer_start", "1/2 sha256:aaaa", 0, 2048, ""});
  d.onEvent({"layer_progress", "1/2 sha256:aaaa", 1024, 2048, ""});
  d.onEvent({"layer_done", "1/2 sha256:aaaa", 2048, 2048, ""});
  d.onEvent({"layer_cached", "2/2 sha256:bbbb", 0, 0, ""});
  d.finish("oci:/x:v1");
  std::string out = drain(f);
  EXPECT_EQ(out,
            "1/2 sha256:aaaa: fetching 2.0 KiB\n" + pad("1/2 sha256:aaaa") + "  done 2.0 KiB\n" +
                pad("2/2 sha256:bbbb") + "  cached\n");
  EXPECT_EQ(out.find('\033'), std::string::npos) << "no escape codes off a terminal";
  std::fclose(f);
}

TEST(CliProgress, CachedWhenNothingWasFetched) {
  FILE* f = std::tmpfile();
  ProgressDisplay d(f, false);
  d.finish("oci:/x:v1");
  EXPECT_EQ(drain(f), "oci:/x:v1: cached (nothing fetched)\n");
  std::fclose(f);
}

TEST(CliProgress, OneBarPerLayerRedrawnOnATerminal) {
  FILE* f = std::tmpfile();
  ProgressDisplay d(f, true);
  d.onEvent({"layer_start", "1/2 sha256:aaaa", 0, 1000, ""});
  d.onEvent({"layer_start", "2/2 sha256:bbbb", 0, 1000, ""});
  d.onEvent({"layer_done", "1/2 sha256:aaaa", 1000, 1000, ""});
  d.finish("ref");
  std::string out = drain(f);
  EXPECT_NE(out.find("\033[2A"), std::string::npos) << "moves up over the two bars";
  EXPECT_NE(out.find(pad("2/2 sha256:bbbb") + "  [          "), std::string::npos) << out;
  EXPECT_NE(out.find("done 1000 B"), std::string::npos) << out;
  EXPECT_EQ(out.find("cached"), std::string::npos);
  std::fclose(f);
}

}  // namespace
}  // namespace warren::cli

namespace warren::cli {
namespace {

TEST(CliProgress, PluginEventsMapToLayerEvents) {
  EXPECT_EQ(progressOf("cached", "l1", 0, 0, "")->kind, "layer_cached");
  EXPECT_EQ(progressOf("progress", "l1", 0, 100, "pulling")->kind, "layer_start");
  EXPECT_EQ(progressOf("progress", "l1", 50, 100, "")->kind, "layer_progress");
  EXPECT_EQ(progressOf("progress", "l1", 100, 100, "")->kind, "layer_done");
  EXPECT_EQ(progressOf("progress", "l1", 0, 0, "unpacked")->kind, "layer_done");
  EXPECT_FALSE(progressOf("limitation", "x", 0, 0, "").has_value());
}

}  // namespace
}  // namespace warren::cli
