#include "host/descriptor_cache.hpp"

#include <sys/stat.h>

#include <sstream>

#include "warren/sdk/fs.hpp"

namespace warren::plugins {
namespace {

std::string toHex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2 + 1);
  out += 'x';  // so an empty info is a non-empty column
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// "" on malformed input; that parses as an empty PluginInfo only when the
// column is exactly "x".
std::string fromHex(const std::string& hex) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.empty() || hex[0] != 'x' || hex.size() % 2 != 1) return std::string("\xff", 1);
  std::string out;
  for (size_t i = 1; i + 1 < hex.size(); i += 2) {
    int hi = val(hex[i]), lo = val(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::string("\xff", 1);
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

std::string DescriptorCache::identityOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

void DescriptorCache::load() {
  if (file_.empty()) return;
  auto text = fs::readFile(file_);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    Entry e;
    int kind = 0;
    std::string path;
    if (!std::getline(ls, path, '\t') || !std::getline(ls, e.identity, '\t')) continue;
    std::string k, maj, min;
    if (!std::getline(ls, k, '\t') || !std::getline(ls, e.d.name, '\t') ||
        !std::getline(ls, e.d.short_name, '\t') || !std::getline(ls, e.d.version, '\t') ||
        !std::getline(ls, maj, '\t') || !std::getline(ls, min, '\t')) {
      continue;
    }
    std::string info_hex;
    std::string protos;
    if (!std::getline(ls, info_hex, '\t') || !e.d.static_info.ParseFromString(fromHex(info_hex)) ||
        !std::getline(ls, protos) || protos.empty() || protos[0] != '|') {
      continue;  // an older cache line (no static info or proto list): read the file again
    }
    std::istringstream ps(protos.substr(1));
    for (std::string f; std::getline(ps, f, '|');) {
      if (!f.empty()) e.d.proto_files.push_back(f);
    }
    kind = std::atoi(k.c_str());
    if (kind != WARREN_KIND_ISOLATOR && kind != WARREN_KIND_PROVISIONER) continue;
    e.d.path = path;
    e.d.kind = static_cast<Kind>(kind);
    e.d.abi_major = static_cast<uint16_t>(std::atoi(maj.c_str()));
    e.d.abi_minor = static_cast<uint16_t>(std::atoi(min.c_str()));
    entries_[path] = std::move(e);
  }
}

std::optional<Descriptor> DescriptorCache::find(const std::string& path) const {
  auto it = entries_.find(path);
  if (it == entries_.end() || it->second.identity != identityOf(path)) return std::nullopt;
  return it->second.d;
}

void DescriptorCache::put(const Descriptor& d) {
  std::string id = identityOf(d.path);
  auto it = entries_.find(d.path);
  if (it != entries_.end() && it->second.identity == id && it->second.d.name == d.name &&
      it->second.d.short_name == d.short_name && it->second.d.version == d.version) {
    return;
  }
  entries_[d.path] = Entry{id, d};
  dirty_ = true;
}

void DescriptorCache::save() {
  if (file_.empty() || !dirty_) return;
  std::string out;
  for (const auto& [path, e] : entries_) {
    out += path + "\t" + e.identity + "\t" + std::to_string(static_cast<int>(e.d.kind)) + "\t" +
           e.d.name + "\t" + e.d.short_name + "\t" + e.d.version + "\t" +
           std::to_string(e.d.abi_major) + "\t" + std::to_string(e.d.abi_minor) + "\t" +
           toHex(e.d.static_info.SerializeAsString()) + "\t|";
    for (const auto& f : e.d.proto_files) out += f + "|";
    out += "\n";
  }
  if (fs::writeFileAtomic(file_, out)) dirty_ = false;
}

}  // namespace warren::plugins
