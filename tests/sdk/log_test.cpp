// warren/sdk/log.hpp: the plugin-side logger that formats a line and hands
// it to the host's C callback (no spdlog/fmt in a plugin).
#include "warren/sdk/log.hpp"

#include <sstream>
#include <vector>

#include <gtest/gtest.h>

namespace warren::sdk {
namespace {

struct Point {
  int x, y;
};
std::ostream& operator<<(std::ostream& os, const Point& p) { return os << '(' << p.x << ',' << p.y << ')'; }

enum class Color { Red = 2 };

TEST(SdkLog, FormatsPlaceholdersInOrder) {
  std::string s = "abc";
  std::string_view sv = "view";
  EXPECT_EQ(format("container_id={} pid {}", s, 42), "container_id=abc pid 42");
  EXPECT_EQ(format("{}{}{}", sv, 'x', "lit"), "viewxlit");
  EXPECT_EQ(format("{} {} {}", true, false, -7L), "true false -7");
  EXPECT_EQ(format("{} {}", uint64_t{18446744073709551615ULL}, size_t{0}), "18446744073709551615 0");
  EXPECT_EQ(format("{} {}", 0.5, 2.0), "0.5 2");
  EXPECT_EQ(format("at {} color {}", Point{1, 2}, Color::Red), "at (1,2) color 2");
  EXPECT_EQ(format("no placeholders"), "no placeholders");
  EXPECT_EQ(format("{{literal}} {}", 1), "{literal} 1");
  const char* none = "";
  EXPECT_EQ(format("[{}]", none), "[]");
}

TEST(SdkLog, CountsPlaceholdersForTheCompileTimeCheck) {
  static_assert(detail::countPlaceholders("a {} b {}") == 2);
  static_assert(detail::countPlaceholders("{{}}") == 0);
  static_assert(detail::countPlaceholders("{:x}") == -1);  // no format specs: a compile error
  static_assert(detail::countPlaceholders("lone }") == -1);
  SUCCEED();
}

TEST(SdkLog, LinesGoToTheGivenSink) {
  std::vector<std::tuple<LogLevel, std::string, std::string>> got;
  Logger log("org.warren.isolator.test", [&](LogLevel l, std::string_view n, std::string_view m) {
    got.emplace_back(l, std::string(n), std::string(m));
  });
  log.warn("container_id={} removed", "c1");
  log.trace("{} layers", 3);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_tuple(LogLevel::Warn, std::string("org.warren.isolator.test"),
                                    std::string("container_id=c1 removed")));
  EXPECT_EQ(std::get<0>(got[1]), LogLevel::Trace);
  EXPECT_EQ(std::get<2>(got[1]), "3 layers");

  std::ostringstream os;
  Logger streamed("t", streamLogSink(os));
  streamed.error("failed: {}", "EPERM");
  EXPECT_EQ(os.str(), "[t] [error] failed: EPERM\n");
}

// Without a sink, a line goes through the C callback of the host that
// created the plugin (warren_host.log), with the C level numbers.
struct Captured {
  int32_t level = -1;
  std::string logger, msg;
};
void captureLog(void* ctx, int32_t level, const char* logger, const char* msg, size_t len) {
  auto* c = static_cast<Captured*>(ctx);
  c->level = level;
  c->logger = logger;
  c->msg.assign(msg, len);
}

TEST(SdkLog, DefaultLoggerUsesTheHostCallback) {
  Captured cap;
  warren_host host{};
  host.struct_size = sizeof host;
  host.ctx = &cap;
  host.log = &captureLog;
  const warren_host* saved = detail::logHostSlot();
  detail::logHostSlot() = &host;
  makeLogger("org.warren.isolator.pid")->info("pid namespace: {}", "new");
  detail::logHostSlot() = saved;
  EXPECT_EQ(cap.level, WARREN_LOG_INFO);
  EXPECT_EQ(cap.logger, "org.warren.isolator.pid");
  EXPECT_EQ(cap.msg, "pid namespace: new");
  // No host (a unit test of plugin code): the line is dropped, no crash.
  makeLogger("x")->error("dropped {}", 1);
}

}  // namespace
}  // namespace warren::sdk
