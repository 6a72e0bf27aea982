// Unit tests (no root): the --volume SPEC syntax.
#include <gtest/gtest.h>

#include "volume_paths.hpp"
#include "volume_spec.hpp"

namespace warren::volumes {
namespace {

TEST(VolumeSpec, ParsesEveryType) {
  auto s = parseVolumeSpec("sandbox:data:/data");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->source(), v1::Volume::SANDBOX_SELF);
  EXPECT_EQ(s->source_path(), "data");
  EXPECT_EQ(s->container_path(), "/data");
  EXPECT_FALSE(s->read_only());

  auto p = parseVolumeSpec("parent:shared/sub:/shared:ro");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->source(), v1::Volume::SANDBOX_PARENT);
  EXPECT_EQ(p->source_path(), "shared/sub");
  EXPECT_TRUE(p->read_only());

  auto h = parseVolumeSpec("host:/srv/x:/x:rw");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->source(), v1::Volume::HOST_PATH);
  EXPECT_EQ(h->source_path(), "/srv/x");
  EXPECT_FALSE(h->read_only());

  auto t = parseVolumeSpec("tmpfs:64m:/scratch");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->source(), v1::Volume::TMPFS);
  EXPECT_EQ(t->size_bytes(), 64u << 20);
  EXPECT_TRUE(t->source_path().empty());
}

TEST(VolumeSpec, RoundTrips) {
  for (const char* spec : {"sandbox:data:/data", "parent:a/b:/x/y:ro", "host:/srv/x:/x:ro",
                           "tmpfs:64m:/scratch", "tmpfs:1g:/big", "tmpfs:12345:/odd",
                           "host:/srv/f:/etc/f", "host:/srv/n:/n:create", "host:/srv/m:/m:ro:create:rslave",
                           "parent:s:/s:rshared", "sandbox:d:/d:private"}) {
    auto v = parseVolumeSpec(spec);
    ASSERT_TRUE(v) << spec << ": " << v.error().message();
    EXPECT_EQ(formatVolumeSpec(*v), spec);
  }
}

// Volume.Source IMAGE exists in the SDK (issue #18) but is not built yet:
// refused as such, by the spec parser and by the shape check.
TEST(VolumeSpec, ImageVolumesAreRefusedAsNotSupportedYet) {
  auto v = parseVolumeSpec("image:oci:/l:busybox:/img");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), Code::Unimplemented);
  EXPECT_EQ(v.error().message(), "invalid volume 'image:oci:/l:busybox:/img': image volumes are not supported yet");
  v1::Volume img;
  img.set_source(v1::Volume::IMAGE);
  img.set_image("oci:/l:busybox");
  img.set_container_path("/img");
  auto shape = checkVolumeShape(img, false, 0);
  ASSERT_FALSE(shape);
  EXPECT_EQ(shape.error().message(), "image volume 'oci:/l:busybox': image volumes are not supported yet");
}

TEST(VolumeSpec, RejectsBadSyntaxWithOneLineNamingTheSpec) {
  struct Case {
    const char* spec;
    const char* message;
  } cases[] = {
      {"data:/data", "invalid volume 'data:/data': expected TYPE:SOURCE:TARGET[:OPTION]..."},
      {"host:/a:b:/c:ro", "invalid volume 'host:/a:b:/c:ro': too many ':' (paths may not contain ':')"},
      {"disk:x:/x", "invalid volume 'disk:x:/x': unknown type 'disk' (use sandbox, parent, host or tmpfs)"},
      {"sandbox::/x", "invalid volume 'sandbox::/x': empty source"},
      {"sandbox:x:", "invalid volume 'sandbox:x:': empty target"},
      {"sandbox:x:/x:rx", "invalid volume 'sandbox:x:/x:rx': unknown option 'rx' (use ro, rw, create, rshared, rslave or private)"},
      {"sandbox:x:/x:create", "invalid volume 'sandbox:x:/x:create': create applies to host volumes only (sandbox dirs are always made)"},
      {"tmpfs:1m:/x:rslave", "invalid volume 'tmpfs:1m:/x:rslave': propagation 'rslave' needs a bind volume, not a tmpfs"},
      {"host:/a:/b:rslave:rshared", "invalid volume 'host:/a:/b:rslave:rshared': more than one propagation option"},
      {"host:/a:/b:ro:rw", "invalid volume 'host:/a:/b:ro:rw': ro/rw given twice"},
      {"sandbox:x:data", "invalid volume 'sandbox:x:data': container path 'data' is not absolute"},
      {"sandbox:x:/a/../etc", "invalid volume 'sandbox:x:/a/../etc': container path '/a/../etc' must not contain '..'"},
      {"sandbox:../x:/x", "invalid volume 'sandbox:../x:/x': sandbox path '../x' must not contain '..'"},
      {"sandbox:/abs:/x", "invalid volume 'sandbox:/abs:/x': sandbox path '/abs' must be relative to the sandbox"},
      {"host:rel:/x", "invalid volume 'host:rel:/x': host path 'rel' is not absolute"},
      {"tmpfs:0:/x", "invalid volume 'tmpfs:0:/x': size '0' is zero"},
      {"tmpfs:lots:/x", "invalid volume 'tmpfs:lots:/x': size 'lots' is not a number (e.g. 64m, 1g, 4096)"},
      {"tmpfs:12q:/x", "invalid volume 'tmpfs:12q:/x': size '12q' has an unknown unit (use k, m, g or t)"},
      {"tmpfs:100:/x", "invalid volume 'tmpfs:100:/x': tmpfs size 100 is smaller than one page (4096 bytes)"},
      {"sandbox:x:/", "invalid volume 'sandbox:x:/': container path '/' is the root itself"},
  };
  for (const auto& c : cases) {
    auto v = parseVolumeSpec(c.spec);
    ASSERT_FALSE(v) << c.spec;
    EXPECT_EQ(v.error().code(), Code::InvalidArgument) << c.spec;
    EXPECT_EQ(v.error().message(), c.message);
  }
}

TEST(VolumeSpec, Sizes) {
  EXPECT_EQ(*parseSize("4096"), 4096u);
  EXPECT_EQ(*parseSize("4k"), 4096u);
  EXPECT_EQ(*parseSize("64M"), 64u << 20);
  EXPECT_EQ(*parseSize("64MiB"), 64u << 20);
  EXPECT_EQ(*parseSize("2gb"), 2ull << 30);
  EXPECT_EQ(*parseSize("1T"), 1ull << 40);
  EXPECT_FALSE(parseSize(""));
  EXPECT_FALSE(parseSize("m"));
  EXPECT_FALSE(parseSize("-1"));
  EXPECT_FALSE(parseSize("1mx"));
  EXPECT_FALSE(parseSize("99999999999999999999"));
  EXPECT_FALSE(parseSize("16777216t"));  // 2^64 overflows
  EXPECT_EQ(formatSize(64u << 20), "64m");
  EXPECT_EQ(formatSize(1536), "1536");
  EXPECT_EQ(formatSize(3ull << 30), "3g");
}

}  // namespace
}  // namespace warren::volumes
