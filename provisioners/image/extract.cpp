#include "extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {
namespace {

using ReadPtr = std::unique_ptr<archive, int (*)(archive*)>;
using WritePtr = std::unique_ptr<archive, int (*)(archive*)>;

// libarchive may fail without setting a message (archive_error_string is
// then NULL: found by tests/fuzz, regressions/layer_extract/).
std::string archiveError(archive* a) {
  const char* m = archive_error_string(a);
  if (m != nullptr) return m;
  int e = archive_errno(a);
  return e > 0 ? std::string("libarchive: ") + std::strerror(e) : std::string("libarchive failed without a message");
}

Error entryError(const ExtractOptions& o, const std::string& entry, const std::string& why) {
  return Error(Code::PermissionDenied, o.what + ": entry '" + entry + "': " + why);
}

// Fails when any existing component of `rel` (all of them when `with_last`)
// is a symlink: writing there would follow it.
Result<void> checkNoSymlink(const std::string& dest, const std::string& rel, bool with_last,
                            const ExtractOptions& o, const std::string& entry) {
  std::string cur;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    bool last = j == rel.size();
    cur = rel.substr(0, j);
    i = j + 1;
    if (last && !with_last) break;
    struct stat st {};
    if (::lstat((dest + "/" + cur).c_str(), &st) != 0) return {};  // missing: created as a dir
    if (S_ISLNK(st.st_mode)) {
      return fail(entryError(o, entry, "would be written through symlink '" + cur + "'"));
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      return fail(entryError(o, entry, "'" + cur + "' is not a directory"));
    }
  }
  return {};
}

std::string parentOf(const std::string& rel) {
  auto s = rel.rfind('/');
  return s == std::string::npos ? "" : rel.substr(0, s);
}

std::string baseOf(const std::string& rel) {
  auto s = rel.rfind('/');
  return s == std::string::npos ? rel : rel.substr(s + 1);
}

// `.wh.name` and `.wh..wh..opq`: turn them into overlayfs whiteouts.
Result<void> applyWhiteout(const std::string& dest, const std::string& rel, const ExtractOptions& o,
                           const std::string& entry) {
  std::string parent = parentOf(rel);
  std::string base = baseOf(rel);
  std::string pdir = parent.empty() ? dest : dest + "/" + parent;
  WARREN_TRY(fs::mkdirs(pdir));
  if (base == ".wh..wh..opq") {
    if (::setxattr(pdir.c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
      return fail(Error::errnoNow(o.what + ": entry '" + entry + "': set opaque xattr"));
    }
    return {};
  }
  if (base.rfind(".wh..wh.", 0) == 0) return {};  // aufs metadata: ignored
  std::string victim = base.substr(4);
  if (victim.empty() || victim == "." || victim == "..") {
    return fail(entryError(o, entry, "malformed whiteout"));
  }
  std::string path = pdir + "/" + victim;
  WARREN_TRY(fs::removeTree(path));
  if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return fail(Error::errnoNow(o.what + ": entry '" + entry + "': mknod whiteout"));
  }
  return {};
}

// Drops trusted.* xattrs from an entry (they would steer overlayfs).
void filterXattrs(archive_entry* e) {
  struct X {
    std::string name;
    std::string value;
  };
  std::vector<X> keep;
  bool dropped = false;
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string n = name;
    if (n.rfind("trusted.", 0) == 0) {
      dropped = true;
      continue;
    }
    keep.push_back({n, std::string(static_cast<const char*>(value), size)});
  }
  if (!dropped) return;
  archive_entry_xattr_clear(e);
  for (const auto& x : keep) archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
}

Result<uint64_t> copyData(archive* in, archive* out, const ExtractOptions& o, const std::string& entry) {
  uint64_t total = 0;
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  while (true) {
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return total;
    if (r < ARCHIVE_WARN) {
      return fail(Code::InvalidArgument, o.what + ": entry '" + entry + "': " + archiveError(in));
    }
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) {
      return fail(Code::Internal, o.what + ": entry '" + entry + "': " + archiveError(out));
    }
    total += size;
    if (o.cancel != nullptr && o.cancel->cancelled()) {
      return fail(Code::FailedPrecondition, o.what + ": extraction cancelled");
    }
    if (total > o.max_bytes) {
      return fail(Code::InvalidArgument, o.what + ": entry '" + entry + "' unpacks beyond the limit of " +
                                               std::to_string(o.max_bytes) + " bytes" + o.limit_hint);
    }
  }
}

}  // namespace

Result<std::string> cleanEntryPath(const std::string& name) {
  if (!name.empty() && name.front() == '/') {
    return fail(Code::PermissionDenied, "absolute path");
  }
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    std::string c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") return fail(Code::PermissionDenied, "path contains '..'");
    out += (out.empty() ? "" : "/") + c;
  }
  return out;
}

Result<uint64_t> extractTar(const std::string& archive_path, const std::string& dest,
                            const ExtractOptions& o) {
  ReadPtr in(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(Code::InvalidArgument, o.what + ": cannot open '" + archive_path + "': " +
                                           archiveError(in.get()));
  }
  WritePtr out(archive_write_disk_new(), archive_write_free);
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_SPARSE);
  uint64_t total = 0;
  int entries = 0;
  while (true) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return fail(Code::InvalidArgument, o.what + ": malformed or truncated tar after " +
                                             std::to_string(entries) + " entries: " +
                                             archiveError(in.get()));
    }
    ++entries;
    if (o.cancel != nullptr && o.cancel->cancelled()) {
      return fail(Code::FailedPrecondition, o.what + ": extraction cancelled");
    }
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (static_cast<uint64_t>(entries) > o.max_files) {
      return fail(Code::InvalidArgument, o.what + ": more than " + std::to_string(o.max_files) +
                                               " files" + o.limit_hint);
    }
    if (archive_entry_size(e) > 0 &&
        total + static_cast<uint64_t>(archive_entry_size(e)) > o.max_bytes) {
      return fail(Code::InvalidArgument, o.what + ": entry '" + name + "' (" +
                                               std::to_string(archive_entry_size(e)) +
                                               " bytes) unpacks beyond the limit of " +
                                               std::to_string(o.max_bytes) + " bytes" + o.limit_hint);
    }
    auto rel = cleanEntryPath(name);
    if (!rel) return fail(entryError(o, name, rel.error().message()));
    if (rel->empty()) continue;  // the archive root itself
    if (o.whiteouts && baseOf(*rel).rfind(".wh.", 0) == 0) {
      WARREN_TRY(checkNoSymlink(dest, *rel, false, o, name));
      WARREN_TRY(applyWhiteout(dest, *rel, o, name));
      continue;
    }
    WARREN_TRY(checkNoSymlink(dest, *rel, true, o, name));
    const char* hl = archive_entry_hardlink(e);
    if (hl != nullptr) {
      auto target = cleanEntryPath(hl);
      if (!target || target->empty()) {
        return fail(entryError(o, name, std::string("hardlink target '") + hl + "' is outside the archive"));
      }
      WARREN_TRY(checkNoSymlink(dest, *target, false, o, name));
      struct stat st {};
      if (::lstat((dest + "/" + *target).c_str(), &st) != 0) {
        return fail(entryError(o, name, std::string("hardlink target '") + hl + "' does not exist"));
      }
      archive_entry_set_hardlink(e, (dest + "/" + *target).c_str());
    }
    filterXattrs(e);
    archive_entry_set_pathname(e, (dest + "/" + *rel).c_str());
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) {
      return fail(Code::Internal, o.what + ": entry '" + name + "': " + archiveError(out.get()));
    }
    if (hl == nullptr && archive_entry_size(e) > 0) {
      WARREN_ASSIGN_OR_RETURN(auto n, copyData(in.get(), out.get(), o, name));
      total += n;
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
      return fail(Code::Internal, o.what + ": entry '" + name + "': " + archiveError(out.get()));
    }
  }
  if (o.files_out != nullptr) *o.files_out = static_cast<uint64_t>(entries);
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return fail(Code::Internal, o.what + ": finishing extraction: " + archiveError(out.get()));
  }
  return total;
}

}  // namespace warren::provisioners::image
