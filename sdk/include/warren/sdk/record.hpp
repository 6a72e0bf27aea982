// Sealed records: the on-disk envelope of every checkpoint warren and its
// plugins keep (container state, group decisions, a provisioner's rootfs and
// image records). One text header line, then the payload:
//
//   warren-record <format> <payload length> <crc32 hex>\n<payload>
//
// A record that is empty, truncated, of an unknown format or whose checksum
// does not match is unreadable: the caller quarantines it (moves it aside,
// logs one line naming it and why) and never acts on it — an unreadable
// record must not make anything else be killed or removed.
#pragma once

#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "warren/sdk/fs.hpp"
#include "warren/sdk/result.hpp"

namespace warren::record {

inline constexpr uint32_t kFormat = 1;
inline constexpr std::string_view kMagic = "warren-record ";
// Suffix of a record moved aside.
inline constexpr std::string_view kQuarantineSuffix = ".quarantined";

// CRC-32 (IEEE 802.3, the zlib polynomial), bitwise: records are small.
inline uint32_t crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline std::string seal(std::string_view payload) {
  char head[64];
  std::snprintf(head, sizeof head, "%u %zu %08x\n", kFormat, payload.size(), crc32(payload));
  std::string out(kMagic);
  out += head;
  out.append(payload);
  return out;
}

// The payload of a sealed record; the error says why it cannot be read.
inline Result<std::string> unseal(std::string_view bytes) {
  if (bytes.empty()) return fail(Code::Internal, "empty record");
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return fail(Code::Internal, "no record header (not written by this warren, or overwritten)");
  }
  auto nl = bytes.find('\n');
  if (nl == std::string_view::npos || nl > 80) return fail(Code::Internal, "truncated record header");
  std::string head(bytes.substr(kMagic.size(), nl - kMagic.size()));
  unsigned format = 0;
  unsigned long long len = 0;
  unsigned crc = 0;
  char extra = 0;
  if (std::sscanf(head.c_str(), "%u %llu %8x%c", &format, &len, &crc, &extra) != 3) {
    return fail(Code::Internal, "malformed record header '" + head + "'");
  }
  if (format != kFormat) {
    return fail(Code::Internal, "record format " + std::to_string(format) + " (this warren reads " +
                                    std::to_string(kFormat) + ")");
  }
  std::string_view payload = bytes.substr(nl + 1);
  if (payload.size() != len) {
    return fail(Code::Internal, "record length " + std::to_string(payload.size()) + " bytes, header says " +
                                    std::to_string(len) + " (truncated?)");
  }
  if (crc32(payload) != crc) return fail(Code::Internal, "record checksum mismatch");
  return std::string(payload);
}

// The names of the records in a directory of per-container records (one file
// per container, named by its ID), without in-flight ".tmp" files of an
// atomic write. `what` names the directory in the error.
inline Result<std::vector<std::string>> listNames(const std::string& dir, std::string_view what) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return failErrno("open " + std::string(what) + " '" + dir + "'");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n.find(".tmp") == std::string::npos) names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

inline Result<void> writeSealed(const std::string& path, std::string_view payload) {
  return fs::writeFileAtomic(path, seal(payload));
}

// Moves an unreadable record aside (path + ".quarantined", replacing an older
// one) and returns the new path. Only renames when `path` still is the file
// that was read (same inode), so a record rewritten meanwhile is never lost.
inline Result<std::string> quarantine(const std::string& path, ino_t read_inode = 0) {
  std::string to = path + std::string(kQuarantineSuffix);
  if (read_inode != 0) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return failErrno("stat '" + path + "'");
    if (st.st_ino != read_inode) {
      return fail(Code::Unavailable, "record '" + path + "' was rewritten while being read");
    }
  }
  if (::rename(path.c_str(), to.c_str()) != 0) return failErrno("quarantine '" + path + "'");
  return to;
}

// Reads and unseals path. NotFound (errno ENOENT) when it does not exist; on
// an unreadable record, *inode is the inode read (for quarantine()).
inline Result<std::string> readSealed(const std::string& path, ino_t* inode = nullptr) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno("open '" + path + "'");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("stat '" + path + "'");
  if (inode != nullptr) *inode = st.st_ino;
  std::string bytes;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read '" + path + "'");
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  return unseal(bytes);
}

}  // namespace warren::record
