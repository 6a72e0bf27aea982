#include "image_provisioner.hpp"

#include <sys/stat.h>

#include <set>
#include <sstream>

#include "backends/backend.hpp"
#include "digest.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/record.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::provisioners::image {
namespace {

bool knownBackend(const std::string& b) { return b == "overlay" || b == "copy" || b == "bind"; }

std::set<std::string> splitList(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.insert(item.substr(b, e - b + 1));
  }
  return out;
}

bool isEmptyDir(const std::string& path) {
  auto r = fs::exists(path);
  if (!r) return true;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return false;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") ++n;
  }
  ::closedir(d);
  return n == 0;
}

}  // namespace

Result<std::unique_ptr<ImageProvisioner>> ImageProvisioner::create(const v1::PluginContext& ctx) {
  auto log = sdk::makeLogger("warren.provisioner.image");
  std::string root = ctx.plugin_work_dir().empty() ? ctx.work_dir() + "/provisioner-image" : ctx.plugin_work_dir();
  if (root.empty() || root.front() != '/') {
    return fail(Code::InvalidArgument, "image provisioner: work dir '" + root + "' is not absolute");
  }
  Store store(root, log);
  WARREN_TRY(store.init());
  std::string backend;
  auto b = ctx.flags().find("image_provisioner_backend");
  if (b != ctx.flags().end() && !b->second.empty() && b->second != "auto") {
    if (!knownBackend(b->second)) {
      return fail(Code::InvalidArgument, "invalid --image_provisioner_backend '" + b->second +
                                             "' (expected overlay, copy, bind or auto)");
    }
    backend = b->second;
  }
  std::string pull = "missing";
  auto pf = ctx.flags().find("pull");
  if (pf != ctx.flags().end() && !pf->second.empty()) {
    if (pf->second != "missing" && pf->second != "always" && pf->second != "never") {
      return fail(Code::InvalidArgument, "invalid --pull '" + pf->second + "' (expected missing, always or never)");
    }
    pull = pf->second;
  }
  SourceOptions opts;
  opts.tmp_dir = store.tmpDir();
  opts.log = log;
  auto limits = parseImageLimits({ctx.flags().begin(), ctx.flags().end()});
  if (!limits) return fail(std::move(limits.error()).context("image provisioner"));
  opts.limits = *limits;
  auto ins = ctx.flags().find("registry_insecure");
  if (ins != ctx.flags().end()) opts.insecure_registries = splitList(ins->second);
  auto p = std::unique_ptr<ImageProvisioner>(
      new ImageProvisioner(std::move(store), std::move(opts), std::move(backend), log));
  p->pull_policy_ = pull;
  return p;
}

v1::PluginInfo ImageProvisioner::info() const {
  v1::PluginInfo i;
  i.set_supports_nesting(true);
  i.set_supports_standalone(true);
  // Calls for different containers may run at once (a slow pull holds up no
  // other provision or destroy): the store is guarded by flocks, which also
  // order threads, and the overlay probe by probe_mu_.
  i.set_thread_safe(true);
  for (const auto& s : supportedSchemes()) i.add_schemes(s);
  return i;
}

Result<std::string> ImageProvisioner::chooseBackend(const std::string& requested) {
  std::string b = requested.empty() || requested == "auto" ? backend_ : requested;
  if (!b.empty()) {
    if (!knownBackend(b)) {
      return fail(Code::InvalidArgument, "unknown rootfs backend '" + b + "' (expected overlay, copy or bind)");
    }
    return b;
  }
  std::lock_guard<std::mutex> g(probe_mu_);
  if (!overlay_ok_) {
    std::string probe = store_.tmpDir() + "/overlay-probe." + std::to_string(::getpid());
    overlay_ok_ = overlayUsable(probe);
    log_->info("overlayfs {}usable here; default rootfs backend: {}", *overlay_ok_ ? "" : "not ",
               *overlay_ok_ ? "overlay" : "copy");
  }
  return std::string(*overlay_ok_ ? "overlay" : "copy");
}

Result<v1::ProvisionResponse> ImageProvisioner::provision(const v1::ProvisionRequest& req) {
  WARREN_TRY(validateId(req.id()));
  std::string id = formatId(req.id());
  std::string what = "provision '" + id + "'";
  auto ref = parseReference(req.image());
  if (!ref) return fail(ref.error().context(what));
  if (store_.readContainer(id)) {
    return fail(Code::AlreadyExists, what + ": the container already has a rootfs");
  }
  WARREN_ASSIGN_OR_RETURN(std::string backend, chooseBackend(req.backend()));
  std::string rootfs = req.rootfs_dir().empty() ? store_.containerDir(id) + "/rootfs" : req.rootfs_dir();
  if (rootfs.front() != '/') return fail(Code::InvalidArgument, what + ": rootfs_dir must be absolute");
  if (!isEmptyDir(rootfs)) {
    return fail(Code::FailedPrecondition, what + ": rootfs dir '" + rootfs + "' exists and is not empty");
  }
  // warren creates one of these files when the container is destroyed while
  // it provisions: the pull stops within about a second, its staging dir goes.
  SourceOptions opts = opts_;
  opts.cancel = sdk::cancelTokenFor({req.cancel_files().begin(), req.cancel_files().end()});
  WARREN_ASSIGN_OR_RETURN(auto lk, store_.lock(false));
  Result<ImageRecord> img = fail(Code::Internal, "not resolved");
  if (ref->scheme == Scheme::Registry && pull_policy_ != "always") {
    img = store_.cached(*ref);
    if (img) {
      log_->debug("container_id={} {} from the local store (--pull={})", id, ref->canonical(), pull_policy_);
    } else if (pull_policy_ == "never") {
      return fail(Code::NotFound, what + ": image '" + req.image() +
                                      "' is not in the local store and --pull=never");
    }
  }
  if (!img) img = store_.pull(*ref, opts);
  if (!img) {
    if (opts.cancel != nullptr && opts.cancel->cancelled()) {
      log_->info("container_id={} provision cancelled: {}", id, img.error().message());
      return fail(Code::FailedPrecondition, what + ": cancelled (the container is being destroyed)");
    }
    return fail(img.error());
  }
  if (opts.cancel != nullptr && opts.cancel->cancelled()) {
    return fail(Code::FailedPrecondition, what + ": cancelled (the container is being destroyed)");
  }
  bool auto_backend = (req.backend().empty() || req.backend() == "auto") && backend_.empty();
  auto resp = assemble(id, *img, backend, rootfs, auto_backend);
  if (!resp) return fail(resp.error().context(what));
  log_->info("container_id={} rootfs from {} ({} layers, {} backend) at {}", id, img->reference,
             img->layers.size(), backend, rootfs);
  return resp;
}

Result<v1::ProvisionResponse> ImageProvisioner::assemble(const std::string& id, const ImageRecord& img,
                                                         std::string backend, const std::string& rootfs,
                                                         bool auto_backend) {
  Assembly a;
  a.rootfs = rootfs;
  a.scratch = store_.containerDir(id);
  for (const auto& l : img.layers) {
    WARREN_ASSIGN_OR_RETURN(auto dir, store_.layerRootfs(l));
    a.layers.push_back(dir);
  }
  if (backend == "bind" && a.layers.size() != 1) {
    return fail(Code::InvalidArgument, "bind backend needs a single-layer image; '" + img.reference +
                                           "' has " + std::to_string(a.layers.size()) + " layers");
  }
  // The record comes first: a crash from here on leaves something recover()
  // and destroy() know how to remove.
  ContainerRecord rec{id, img.reference, backend, rootfs, img.layers};
  WARREN_TRY(store_.writeContainer(rec));
  bool made_rootfs = !fs::exists(rootfs);
  Defer undo([&] {
    (void)unmountAll(rootfs);
    if (made_rootfs) {
      (void)fs::removeTree(rootfs);
    }
    (void)store_.removeContainer(id);
  });
  WARREN_TRY(fs::mkdirs(a.scratch, 0700));
  WARREN_TRY(fs::mkdirs(rootfs, 0755));
  Result<void> r = backend == "overlay" ? assembleOverlay(a)
                   : backend == "bind"  ? assembleBind(a)
                                        : assembleCopy(a);
  if (!r && backend == "overlay" && auto_backend) {
    // Chosen by us, not the operator: fall back to copy, and say so.
    log_->warn("container_id={} overlay failed ({}); falling back to the copy backend", id, r.error().message());
    (void)unmountAll(rootfs);
    (void)fs::removeTree(a.scratch + "/upper");
    (void)fs::removeTree(a.scratch + "/work");
    backend = "copy";
    rec.backend = backend;
    WARREN_TRY(store_.writeContainer(rec));
    r = assembleCopy(a);
  }
  if (!r) return fail(r.error().context(backend + " backend"));
  undo.dismiss();
  v1::ProvisionResponse resp;
  resp.set_rootfs(rootfs);
  resp.set_backend(backend);
  *resp.mutable_image_config() = img.config;
  return resp;
}

Result<void> ImageProvisioner::destroyById(const std::string& id, const std::string& known_rootfs) {
  auto rec = store_.readContainer(id);
  std::string rootfs = rec ? rec->rootfs : "";
  bool quarantined = !rec && rec.error().code() == Code::FailedPrecondition;
  if (quarantined) {
    // The record is unreadable: only warren's own checkpoint (the rootfs it
    // recorded) says what to remove; without one, nothing is touched.
    if (known_rootfs.empty()) {
      return fail(Code::FailedPrecondition, "destroy rootfs of '" + id + "': " + rec.error().message() +
                                                "; left in place");
    }
    log_->warn("container_id={} rootfs record unreadable: removing the rootfs warren recorded, '{}'", id,
               known_rootfs);
    rootfs = known_rootfs;
  }
  Result<void> first;
  if (!rootfs.empty()) {
    auto u = unmountAll(rootfs);
    if (!u) first = u;
    if (u) {
      auto r = fs::removeTree(rootfs);
      if (!r && first) first = r;
    }
  }
  if (first) {
    auto r = store_.removeContainer(id);
    if (!r) first = r;
  }
  if (first && quarantined) {
    std::string q = store_.root() + "/containers/" + id + ".json" + std::string(record::kQuarantineSuffix);
    (void)::unlink(q.c_str());
  }
  if (!first) return fail(first.error().context("destroy rootfs of '" + id + "'"));
  log_->info("container_id={} rootfs removed", id);
  return {};
}

Result<void> ImageProvisioner::destroy(const v1::ContainerRequest& req) {
  WARREN_TRY(validateId(req.id()));
  return destroyById(formatId(req.id()), req.state().rootfs());
}

Result<void> ImageProvisioner::recover(const v1::RecoverRequest& req) {
  // Staging leftovers of a pull that died (tmp/layer-*, downloads): removed
  // when no pull runs anywhere (the exclusive store lock is free).
  if (auto excl = store_.tryLockExclusive()) {
    for (const auto& n : store_.tmpEntries()) {
      log_->warn("recover: removing staging leftover '{}/{}' of an interrupted pull", store_.tmpDir(), n);
      auto r = fs::removeTree(store_.tmpDir() + "/" + n);
      if (!r) log_->error("recover: {}", r.error().message());
    }
  } else {
    log_->info("recover: a pull is in progress; staging dir left alone");
  }
  std::set<std::string> known;
  for (const auto& c : req.containers()) known.insert(formatId(c.id()));
  for (const auto& id : store_.quarantinedIds()) {
    if (known.count(id)) continue;
    // Unknown to warren and unreadable: an operator decides; never removed here.
    log_->warn("container_id={} rootfs record quarantined and unknown to warren: left in place", id);
    known.insert(id);
  }
  Result<void> first;
  for (const auto& id : store_.containerIds()) {
    if (known.count(id)) {
      (void)store_.readContainer(id);  // an unreadable record is quarantined (and logged) now
      continue;
    }
    log_->info("container_id={} unknown to warren: removing its rootfs", id);
    auto r = destroyById(id, "");
    if (!r && first) first = r;
  }
  return first;
}

Result<v1::ImageInfo> ImageProvisioner::pull(const v1::ImageRequest& req) {
  WARREN_ASSIGN_OR_RETURN(auto ref, parseReference(req.reference()));
  WARREN_ASSIGN_OR_RETURN(auto lk, store_.lock(false));
  WARREN_ASSIGN_OR_RETURN(auto img, store_.pull(ref, opts_));
  v1::ImageInfo info;
  info.set_reference(img.reference);
  info.set_digest(img.manifest_digest);
  info.set_size_bytes(img.size_bytes);
  info.set_layers(static_cast<int32_t>(img.layers.size()));
  return info;
}

Result<v1::ImageList> ImageProvisioner::listImages(const v1::Empty&) {
  WARREN_ASSIGN_OR_RETURN(auto imgs, store_.images());
  v1::ImageList out;
  for (const auto& img : imgs) {
    auto* i = out.add_images();
    i->set_reference(img.reference);
    i->set_digest(img.manifest_digest);
    i->set_size_bytes(img.size_bytes);
    i->set_layers(static_cast<int32_t>(img.layers.size()));
  }
  return out;
}

Result<v1::PruneResponse> ImageProvisioner::prune(const v1::Empty&) {
  WARREN_ASSIGN_OR_RETURN(auto p, store_.prune());
  v1::PruneResponse out;
  for (const auto& r : p.removed) out.add_removed(r);
  out.set_freed_bytes(p.freed_bytes);
  return out;
}

}  // namespace warren::provisioners::image
