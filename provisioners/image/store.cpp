#include "store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "warren/sdk/plugin.hpp"
#include "extract.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/record.hpp"

namespace warren::provisioners::image {

using nlohmann::json;

namespace {

std::vector<std::string> listDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

// With `cancel`, a wait for the lock (another pull unpacking the same
// layer) is polled, so a cancelled pull does not sit behind someone else's.
Result<UniqueFd> flockFile(const std::string& path, bool exclusive,
                           const sdk::CancelToken* cancel = nullptr) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return failErrno("open lock '" + path + "'");
  int how = exclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd.get(), how | (cancel != nullptr ? LOCK_NB : 0)) != 0) {
    if (errno == EWOULDBLOCK && cancel != nullptr) {
      if (cancel->cancelled()) return fail(Code::FailedPrecondition, "waiting for '" + path + "': cancelled");
      ::usleep(20000);
      continue;
    }
    if (errno != EINTR) return failErrno("flock '" + path + "'");
  }
  return fd;
}

Result<void> checkCancelled(const SourceOptions& opts, const std::string& what) {
  if (opts.cancel != nullptr && opts.cancel->cancelled()) {
    return fail(Code::FailedPrecondition, what + ": pull cancelled");
  }
  return {};
}

json toJson(const v1::ImageConfig& c) {
  return json{{"entrypoint", std::vector<std::string>(c.entrypoint().begin(), c.entrypoint().end())},
              {"cmd", std::vector<std::string>(c.cmd().begin(), c.cmd().end())},
              {"env", std::vector<std::string>(c.env().begin(), c.env().end())},
              {"working_dir", c.working_dir()},
              {"user", c.user()}};
}

v1::ImageConfig configFromJson(const json& j) {
  v1::ImageConfig c;
  if (!j.is_object()) return c;
  for (const auto& s : j.value("entrypoint", std::vector<std::string>{})) c.add_entrypoint(s);
  for (const auto& s : j.value("cmd", std::vector<std::string>{})) c.add_cmd(s);
  for (const auto& s : j.value("env", std::vector<std::string>{})) c.add_env(s);
  c.set_working_dir(j.value("working_dir", ""));
  c.set_user(j.value("user", ""));
  return c;
}

// Atomic replace safe against concurrent writers of the same path (each
// writes its own temp file; the last rename wins with complete content).
Result<void> writeShared(const std::string& path, const std::string& data) {
  std::string tmp = path + ".XXXXXX";
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd) return failErrno("mkstemp '" + tmp + "'");
  Defer rm([&] { ::unlink(tmp.c_str()); });
  ::fchmod(fd.get(), 0644);
  WARREN_TRY(fs::writeAll(fd.get(), data, tmp));
  if (::fsync(fd.get()) != 0) return failErrno("fsync '" + tmp + "'");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("rename '" + tmp + "'");
  rm.dismiss();
  return {};
}

// A sealed JSON record (warren/sdk/record.hpp). One that cannot be read is
// quarantined (moved aside, one log line) and reported as FailedPrecondition;
// nothing is ever removed on the strength of it.
Result<json> readJson(const std::string& path, sdk::Logger* log) {
  ino_t inode = 0;
  auto payload = record::readSealed(path, &inode);
  if (!payload && payload.error().err() != 0) return fail(std::move(payload.error()));
  std::string why;
  if (payload) {
    json j = json::parse(*payload, nullptr, false);
    if (!j.is_discarded() && j.is_object()) return j;
    why = "not a JSON object";
  } else {
    why = payload.error().message();
  }
  auto moved = record::quarantine(path, inode);
  if (moved && log != nullptr) {
    log->error("record '{}' is unreadable ({}); quarantined as '{}'", path, why, *moved);
  }
  return fail(Code::FailedPrecondition, "record '" + path + "' is unreadable (" + why + ")" +
                                            (moved ? "; quarantined" : ""));
}

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<void> Store::init() {
  for (const char* d : {"layers", "images", "containers", "locks", "tmp"}) {
    WARREN_TRY(fs::mkdirs(root_ + "/" + d, 0700));
  }
  return {};
}

Result<std::string> Store::layerRootfs(const std::string& digest) const {
  WARREN_ASSIGN_OR_RETURN(auto hex, digestHex(digest));
  return root_ + "/layers/" + hex + "/rootfs";
}

Result<UniqueFd> Store::lock(bool exclusive) { return flockFile(root_ + "/locks/store.lock", exclusive); }

std::optional<UniqueFd> Store::tryLockExclusive() {
  UniqueFd fd(::open((root_ + "/locks/store.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return std::nullopt;
  return fd;
}

std::vector<std::string> Store::tmpEntries() const { return listDir(tmpDir()); }

std::string Store::imageKey(const std::string& reference) const {
  return root_ + "/images/" + sha256Hex(reference).substr(0, 32) + ".json";
}

uint64_t Store::layerSize(const std::string& hex) const {
  auto s = fs::readFile(root_ + "/layers/" + hex + "/size");
  return s ? std::strtoull(s->c_str(), nullptr, 10) : 0;
}

uint64_t Store::layerFiles(const std::string& hex) const {
  auto s = fs::readFile(root_ + "/layers/" + hex + "/files");
  return s ? std::strtoull(s->c_str(), nullptr, 10) : 0;
}

Result<ImageRecord> Store::pull(const Reference& ref, const SourceOptions& opts) {
  std::string what = "image '" + ref.original + "'";
  WARREN_TRY(checkCancelled(opts, what));
  WARREN_ASSIGN_OR_RETURN(auto src, openSource(ref, opts));
  WARREN_ASSIGN_OR_RETURN(ResolvedImage img, src->resolve());
  WARREN_ASSIGN_OR_RETURN(auto config, parseImageConfig(img.config_json, what));
  ImageRecord rec;
  rec.reference = ref.canonical();
  rec.manifest_digest = img.manifest_digest;
  rec.config_digest = img.config_digest;
  rec.config = config;
  const auto& lim = opts.limits;
  const std::string hint = " (--image_max_unpacked_bytes / --image_max_files)";
  uint64_t files = 0;
  for (size_t i = 0; i < img.layers.size(); ++i) {
    Budget left{lim.max_unpacked_bytes - rec.size_bytes, lim.max_files - files};
    WARREN_TRY(checkCancelled(opts, what));
    WARREN_TRY(ensureLayer(*src, img.layers[i], i, img.layers.size(), what, left, opts.cancel.get()));
    rec.layers.push_back(img.layers[i].digest);
    std::string hex = *digestHex(img.layers[i].digest);
    rec.size_bytes += layerSize(hex);
    files += layerFiles(hex);
    // Layers unpacked earlier (by another image) count too.
    if (rec.size_bytes > lim.max_unpacked_bytes) {
      return fail(Code::InvalidArgument, what + ": unpacks to more than " +
                                             std::to_string(lim.max_unpacked_bytes) + " bytes" + hint);
    }
    if (files > lim.max_files) {
      return fail(Code::InvalidArgument, what + ": has more than " + std::to_string(lim.max_files) +
                                             " files" + hint);
    }
  }
  json j{{"reference", rec.reference},     {"manifest_digest", rec.manifest_digest},
         {"config_digest", rec.config_digest}, {"layers", rec.layers},
         {"config", toJson(rec.config)},     {"size_bytes", rec.size_bytes}};
  WARREN_TRY(writeShared(imageKey(rec.reference), record::seal(j.dump(2))));
  return rec;
}

namespace {

// Pull progress for the embedder (the CLI draws it): kind "cached" for a
// layer already in the store, "progress" with done/total bytes otherwise.
void layerEvent(const std::string& kind, const std::string& item, uint64_t done, uint64_t total,
                const std::string& message) {
  v1::PluginEvent ev;
  ev.set_kind(kind);
  ev.set_item(item);
  ev.set_done(done);
  ev.set_total(total);
  ev.set_message(message);
  sdk::emitEvent(ev);
}

}  // namespace

Result<void> Store::ensureLayer(Source& src, const BlobRef& layer, size_t index, size_t count,
                                const std::string& what, const Budget& left, const sdk::CancelToken* cancel) {
  WARREN_ASSIGN_OR_RETURN(auto hex, digestHex(layer.digest));
  std::string final = root_ + "/layers/" + hex;
  std::string label = "layer " + std::to_string(index + 1) + "/" + std::to_string(count) + " " +
                      layer.digest.substr(0, 19);
  if (fs::exists(final)) {
    log_->debug("{}: {} already unpacked", what, label);
    layerEvent("cached", label, 0, 0, "already unpacked");
    return {};
  }
  // One unpacker per layer, across threads and processes.
  auto lk = flockFile(root_ + "/locks/" + hex + ".lock", true, cancel);
  if (!lk && lk.error().code() == Code::FailedPrecondition) return fail(Code::FailedPrecondition, what + ": pull cancelled");
  if (!lk) return fail(std::move(lk.error()));
  if (fs::exists(final)) return {};
  auto t0 = std::chrono::steady_clock::now();
  log_->info("{}: pulling {}{}", what, label,
             layer.size >= 0 ? " (" + std::to_string(layer.size) + " bytes)" : "");
  uint64_t size = layer.size >= 0 ? static_cast<uint64_t>(layer.size) : 0;
  layerEvent("progress", label, 0, size, "pulling");
  // Bytes as they arrive (for bars with a rate and an ETA), at most ~5 a second.
  auto last = std::chrono::steady_clock::now();
  src.setFetchProgress([&](uint64_t done) {
    auto now = std::chrono::steady_clock::now();
    if (done == 0 || (size > 0 && done >= size) || now - last < std::chrono::milliseconds(200)) return;
    last = now;
    layerEvent("progress", label, done, size, "");
  });
  auto unpacked = unpackLayer(src, layer, hex, what, left, cancel);
  src.setFetchProgress(nullptr);
  WARREN_TRY(std::move(unpacked));
  layerEvent("progress", label, size, size, "unpacked");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  log_->info("{}: unpacked {} ({} bytes) in {} ms", what, label, layerSize(hex), ms.count());
  return {};
}

Result<void> Store::unpackLayer(Source& src, const BlobRef& layer, const std::string& hex,
                                const std::string& what, const Budget& left, const sdk::CancelToken* cancel) {
  std::string tmpl = tmpDir() + "/layer-" + hex.substr(0, 12) + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno("mkdtemp '" + tmpl + "'");
  Defer cleanup([&] { (void)fs::removeTree(tmpl); });
  std::string blob = tmpl + "/blob";
  WARREN_TRY(src.fetchBlob(layer, blob));
  if (cancel != nullptr && cancel->cancelled()) return fail(Code::FailedPrecondition, what + ": pull cancelled");
  WARREN_TRY(verifyFile(blob, layer.digest, what + ": layer"));  // before any use
  WARREN_TRY(fs::mkdirs(tmpl + "/rootfs", 0755));
  ExtractOptions eo;
  eo.what = what + ": layer " + layer.digest;
  eo.whiteouts = true;
  eo.max_bytes = left.bytes;
  eo.max_files = left.files;
  eo.limit_hint = " (--image_max_unpacked_bytes / --image_max_files)";
  uint64_t files = 0;
  eo.files_out = &files;
  eo.cancel = cancel;
  WARREN_ASSIGN_OR_RETURN(uint64_t size, extractTar(blob, tmpl + "/rootfs", eo));
  WARREN_TRY(fs::writeFileAtomic(tmpl + "/files", std::to_string(files)));
  if (::unlink(blob.c_str()) != 0) return failErrno("unlink '" + blob + "'");
  WARREN_TRY(fs::writeFileAtomic(tmpl + "/size", std::to_string(size)));
  std::string final = root_ + "/layers/" + hex;
  if (::rename(tmpl.c_str(), final.c_str()) != 0) return failErrno("rename into '" + final + "'");
  cleanup.dismiss();
  return {};
}

Result<std::vector<ImageRecord>> Store::images() const {
  std::vector<ImageRecord> out;
  for (const auto& n : listDir(root_ + "/images")) {
    if (n.size() < 5 || n.substr(n.size() - 5) != ".json") continue;
    auto j = readJson(root_ + "/images/" + n, log_.get());
    if (!j) continue;
    ImageRecord r;
    r.reference = j->value("reference", "");
    r.manifest_digest = j->value("manifest_digest", "");
    r.config_digest = j->value("config_digest", "");
    r.layers = j->value("layers", std::vector<std::string>{});
    r.config = configFromJson((*j)["config"]);
    r.size_bytes = j->value("size_bytes", uint64_t{0});
    out.push_back(std::move(r));
  }
  return out;
}

Result<ImageRecord> Store::cached(const Reference& ref) const {
  std::string path = imageKey(ref.canonical());
  if (!fs::exists(path)) return fail(Code::NotFound, "image '" + ref.original + "' is not in the local store");
  WARREN_ASSIGN_OR_RETURN(json j, readJson(path, log_.get()));
  ImageRecord r;
  r.reference = j.value("reference", "");
  r.manifest_digest = j.value("manifest_digest", "");
  r.config_digest = j.value("config_digest", "");
  r.layers = j.value("layers", std::vector<std::string>{});
  r.config = configFromJson(j["config"]);
  r.size_bytes = j.value("size_bytes", uint64_t{0});
  if (r.reference != ref.canonical() || r.layers.empty()) {
    return fail(Code::NotFound, "image '" + ref.original + "' is not in the local store");
  }
  for (const auto& l : r.layers) {
    auto dir = layerRootfs(l);
    if (!dir || !fs::exists(*dir)) {
      return fail(Code::NotFound, "image '" + ref.original + "': layer " + l + " is not in the local store");
    }
  }
  return r;
}

Result<void> Store::writeContainer(const ContainerRecord& c) {
  json j{{"id", c.id}, {"image", c.image}, {"backend", c.backend}, {"rootfs", c.rootfs}, {"layers", c.layers}};
  return record::writeSealed(root_ + "/containers/" + c.id + ".json", j.dump(2));
}

Result<ContainerRecord> Store::readContainer(const std::string& id) const {
  std::string path = root_ + "/containers/" + id + ".json";
  if (!fs::exists(path)) {
    if (fs::exists(path + std::string(record::kQuarantineSuffix))) {
      return fail(Code::FailedPrecondition, "the rootfs record of container '" + id + "' is quarantined");
    }
    return fail(Code::NotFound, "no rootfs record for container '" + id + "'");
  }
  WARREN_ASSIGN_OR_RETURN(json j, readJson(path, log_.get()));
  ContainerRecord c;
  c.id = id;
  c.image = j.value("image", "");
  c.backend = j.value("backend", "");
  c.rootfs = j.value("rootfs", "");
  c.layers = j.value("layers", std::vector<std::string>{});
  return c;
}

Result<void> Store::removeContainer(const std::string& id) {
  WARREN_TRY(fs::removeTree(containerDir(id)));
  std::string path = root_ + "/containers/" + id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("unlink '" + path + "'");
  return {};
}

std::vector<std::string> Store::containerIds() const {
  std::set<std::string> ids;
  for (const auto& n : listDir(root_ + "/containers")) {
    if (endsWith(n, record::kQuarantineSuffix)) {
      continue;  // a quarantined record: see quarantinedIds()
    } else if (n.size() > 5 && n.substr(n.size() - 5) == ".json") {
      ids.insert(n.substr(0, n.size() - 5));
    } else if (n.find(".tmp") == std::string::npos && n.find(".json.") == std::string::npos) {
      ids.insert(n);  // a scratch dir whose record never got written
    }
  }
  return {ids.begin(), ids.end()};
}

std::vector<std::string> Store::quarantinedIds() const {
  std::vector<std::string> out;
  std::string suffix = ".json" + std::string(record::kQuarantineSuffix);
  for (const auto& n : listDir(root_ + "/containers")) {
    if (endsWith(n, suffix)) out.push_back(n.substr(0, n.size() - suffix.size()));
  }
  return out;
}

Result<Store::Pruned> Store::prune() {
  WARREN_ASSIGN_OR_RETURN(auto lk, lock(true));
  std::set<std::string> usedLayers, usedImages;
  for (const auto& id : containerIds()) {
    auto c = readContainer(id);
    if (!c) continue;
    usedImages.insert(c->image);
    for (const auto& l : c->layers) {
      if (auto hex = digestHex(l)) usedLayers.insert(*hex);
    }
  }
  Pruned out;
  // An unreadable container record might have used any layer: keep them all.
  auto quarantined = quarantinedIds();
  if (!quarantined.empty()) {
    log_->warn("prune: {} container record(s) quarantined (first '{}'): no layer is removed", quarantined.size(),
               quarantined.front());
  }
  WARREN_ASSIGN_OR_RETURN(auto imgs, images());
  for (const auto& img : imgs) {
    if (usedImages.count(img.reference)) continue;
    std::string path = imageKey(img.reference);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("unlink '" + path + "'");
    out.removed.push_back("image " + img.reference);
  }
  for (const auto& hex : listDir(root_ + "/layers")) {
    if (usedLayers.count(hex) || !quarantined.empty()) continue;
    uint64_t size = layerSize(hex);
    WARREN_TRY(fs::removeTree(root_ + "/layers/" + hex));
    (void)::unlink((root_ + "/locks/" + hex + ".lock").c_str());
    out.removed.push_back("layer sha256:" + hex);
    out.freed_bytes += size;
  }
  for (const auto& n : listDir(tmpDir())) WARREN_TRY(fs::removeTree(tmpDir() + "/" + n));
  log_->info("prune: removed {} entries, freed {} bytes", out.removed.size(), out.freed_bytes);
  return out;
}

}  // namespace warren::provisioners::image
