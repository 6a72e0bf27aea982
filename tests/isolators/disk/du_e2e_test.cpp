// disk/du end to end (issue #18): resources.disk_bytes 10 MiB, a 30 MiB
// writer -> killed, termination DISK_LIMIT with a DISK limitation; a writer
// under its limit is left alone.
#include <gtest/gtest.h>

#include "fixture.hpp"

namespace warren::testing {
namespace {

class ROOT_DiskDu : public ContainerizerTest {
 protected:
  std::unique_ptr<Containerizer> makeDu() {
    Options o = options({"filesystem/linux", "pid", "disk/du"});
    o.plugin_configs["disk/du"] = R"({"interval_ms": 100})";
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }
};

TEST_F(ROOT_DiskDu, WriterOverItsDiskBytesIsKilledWithDiskLimit) {
  auto c = makeDu();
  ASSERT_TRUE(c);
  // Slowly enough that a 100 ms poll sees it pass 10 MiB long before 30.
  auto cfg = shell("for i in $(seq 30); do dd if=/dev/zero of=$WARREN_SANDBOX/f$i bs=1M count=1 2>/dev/null; "
                   "sleep 0.1; done; echo wrote-all; sleep 300");
  cfg.set_rootfs(env_.makeRootfs());
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("hog"), cfg));
  auto t = c->wait(id("hog"), std::chrono::seconds(60));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::DISK_LIMIT) << t->message();
  ASSERT_EQ(t->limitations_size(), 1);
  EXPECT_EQ(t->limitations(0).reason(), v1::Limitation::DISK);
  EXPECT_EQ(t->limitations(0).isolator(), "disk/du");
  EXPECT_GT(t->limitations(0).peak_bytes(), 10u << 20);
  EXPECT_LT(t->limitations(0).peak_bytes(), 30u << 20);
  EXPECT_EQ(stdoutOf("hog").find("wrote-all"), std::string::npos);
  ASSERT_TRUE(c->destroy(id("hog")));
}

TEST_F(ROOT_DiskDu, WritesIntoTheRootCountAndAWriterUnderItsLimitIsLeftAlone) {
  auto c = makeDu();
  ASSERT_TRUE(c);
  auto root = env_.makeRootfs();
  auto small = shell("dd if=/dev/zero of=/tmp/f bs=1M count=2 2>/dev/null; sleep 1; echo done");
  small.set_rootfs(root);
  small.mutable_resources()->set_disk_bytes(10 << 20);
  auto t = runToEnd(*c, "small", small);
  EXPECT_EQ(t.first.reason(), v1::Termination::COMMAND_EXITED) << t.first.message();
  EXPECT_EQ(t.second, "done\n");
  // The rootfs's upper layer is in the sandbox: a write to /tmp counts.
  auto big = shell("dd if=/dev/zero of=/tmp/f bs=1M count=20 2>/dev/null; sleep 300");
  big.set_rootfs(root);
  big.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("big"), big));
  auto tb = c->wait(id("big"), std::chrono::seconds(60));
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->reason(), v1::Termination::DISK_LIMIT) << tb->message();
  ASSERT_TRUE(c->destroy(id("big")));
}

}  // namespace
}  // namespace warren::testing
