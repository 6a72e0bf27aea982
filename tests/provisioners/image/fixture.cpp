#include "fixture.hpp"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <spdlog/sinks/ostream_sink.h>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {

namespace stdfs = std::filesystem;

ProvisionerEnv::ProvisionerEnv(std::map<std::string, std::string> flags) {
  logbuf_ = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*logbuf_);
  auto log = std::make_shared<spdlog::logger>("test", sink);
  log->set_level(spdlog::level::trace);
  plugins::HostOptions opts;
  opts.work_dir = env.work_dir;
  opts.runtime_dir = env.runtime_dir;
  opts.cgroups_root = env.cgroups_root;
  opts.flags = std::move(flags);
  host_ = plugins::PluginHost::create(opts, log);
  auto d = host_->loadFile(env.plugin_dir + "/provisioner_image.so");
  if (!d) {
    ADD_FAILURE() << d.error().message();
    return;
  }
  auto p = host_->instance(plugins::Kind::Provisioner, "image");
  if (!p) {
    ADD_FAILURE() << p.error().message();
    return;
  }
  plugin_ = *p;
  store_ = env.work_dir + "/plugins/image";
}

ProvisionerEnv::~ProvisionerEnv() = default;

std::string ProvisionerEnv::logs() const { return logbuf_->str(); }

Result<v1::ProvisionResponse> ProvisionerEnv::provision(const std::string& id, const std::string& image,
                                                        const std::string& backend, std::string rootfs) {
  v1::ProvisionRequest req;
  auto cid = parseId(id);
  if (!cid) return fail(cid.error());
  *req.mutable_id() = *cid;
  req.set_image(image);
  req.set_backend(backend);
  req.set_rootfs_dir(rootfs.empty() ? env.root + "/rootfs-" + id : rootfs);
  return plugin_->call<v1::ProvisionResponse>(v1::PROVISION, req);
}

Result<void> ProvisionerEnv::destroy(const std::string& id) {
  v1::ContainerRequest req;
  auto cid = parseId(id);
  if (!cid) return fail(cid.error());
  *req.mutable_id() = *cid;
  auto r = plugin_->call<v1::Empty>(v1::DESTROY, req);
  if (!r) return fail(r.error());
  return {};
}

Result<v1::ImageInfo> ProvisionerEnv::pull(const std::string& ref) {
  v1::ImageRequest req;
  req.set_reference(ref);
  return plugin_->call<v1::ImageInfo>(v1::PULL, req);
}

Result<v1::PruneResponse> ProvisionerEnv::prune() { return plugin_->call<v1::PruneResponse>(v1::PRUNE, v1::Empty{}); }
Result<v1::ImageList> ProvisionerEnv::images() { return plugin_->call<v1::ImageList>(v1::LIST_IMAGES, v1::Empty{}); }

std::vector<std::string> ProvisionerEnv::storeEntries(const std::string& sub) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(store_ + "/" + sub, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::string treeListing(const std::string& root) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec); it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string p = it->path().string();
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) continue;
    std::string rel = it->path().lexically_relative(root).string();
    char mode[16];
    snprintf(mode, sizeof mode, "%o", st.st_mode);
    std::string detail;
    if (S_ISREG(st.st_mode)) {
      std::ifstream f(p, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      detail = images::sha256(ss.str()).substr(7, 16);
    } else if (S_ISLNK(st.st_mode)) {
      detail = "-> " + stdfs::read_symlink(it->path()).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      detail = std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    lines.push_back(rel + " " + mode + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                    " " + detail);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool overlayAvailable() {
  static int ok = -1;
  if (ok >= 0) return ok == 1;
  std::string base = "/tmp/" + tag() + "/overlay-probe";
  (void)fs::mkdirs(base + "/l");
  (void)fs::mkdirs(base + "/u");
  (void)fs::mkdirs(base + "/w");
  (void)fs::mkdirs(base + "/m");
  std::string opts = "lowerdir=" + base + "/l,upperdir=" + base + "/u,workdir=" + base + "/w";
  ok = mount("overlay", (base + "/m").c_str(), "overlay", 0, opts.c_str()) == 0 ? 1 : 0;
  if (ok) umount2((base + "/m").c_str(), MNT_DETACH);
  (void)fs::removeTree(base);
  return ok == 1;
}

images::Layer busyboxLayer() {
  static std::string tar = images::makeTar(images::entriesOf(TestEnv::busyboxRootfs()));
  return images::Layer{tar, images::Compression::Gzip};
}

std::string outsideDir(const TestEnv& env) {
  std::string d = env.root + "/outside";
  (void)fs::mkdirs(d);
  return d;
}

}  // namespace warren::testing
