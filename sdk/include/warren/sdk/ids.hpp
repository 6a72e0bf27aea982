// Container IDs: validation, parsing and printing ("pod7.web.debug1").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warren/sdk/result.hpp"
#include "warren/v1/container.pb.h"

namespace warren {

inline constexpr size_t kMaxNameLength = 64;
inline constexpr int kMaxDepth = 32;

// A single name: [A-Za-z0-9_-]{1,64}.
inline Result<void> validateName(std::string_view name) {
  if (name.empty()) return fail(Code::InvalidArgument, "invalid container ID: empty name");
  if (name.size() > kMaxNameLength) {
    return fail(Code::InvalidArgument, "invalid container ID '" + std::string(name) +
                                           "': a name is longer than 64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return fail(Code::InvalidArgument, "invalid container ID '" + std::string(name) +
                                             "': only [A-Za-z0-9_-] are allowed");
    }
  }
  return {};
}

// A hostname as written into the container's /etc/hostname and /etc/hosts:
// RFC 1123 - dot-separated labels of [A-Za-z0-9-], 1-63 characters, not
// starting or ending with '-', 253 characters in all. Nothing else (no
// whitespace, newline or NUL) can reach those files through it.
inline Result<void> validateHostname(std::string_view h) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (char c : h.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return fail(Code::InvalidArgument, "invalid hostname '" + shown + "': " + why);
  };
  if (h.empty()) return bad("empty");
  if (h.size() > 253) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos : dot - start);
    if (label.empty()) return bad("empty label");
    if (label.size() > 63) return bad("a label is longer than 63 characters");
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return bad("only letters, digits, '-' and '.' are allowed (RFC 1123)");
    }
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

inline std::string formatId(const v1::ContainerID& id) {
  std::string out;
  for (int i = 0; i < id.path_size(); ++i) {
    if (i) out += '.';
    out += id.path(i);
  }
  return out;
}

inline Result<void> validateId(const v1::ContainerID& id) {
  if (id.path_size() == 0) return fail(Code::InvalidArgument, "invalid container ID: empty");
  if (id.path_size() > kMaxDepth) {
    return fail(Code::InvalidArgument, "invalid container ID '" + formatId(id) +
                                           "': nesting depth " + std::to_string(id.path_size()) +
                                           " exceeds the limit of 32");
  }
  for (const auto& n : id.path()) {
    auto r = validateName(n);
    if (!r) {
      return fail(Code::InvalidArgument,
                  r.error().message() + (id.path_size() > 1 ? " (in '" + formatId(id) + "')" : ""));
    }
  }
  return {};
}

// Parse "a.b.c" into a validated ID.
inline Result<v1::ContainerID> parseId(std::string_view text) {
  v1::ContainerID id;
  if (text.empty()) return fail(Code::InvalidArgument, "invalid container ID: empty");
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    auto r = validateName(part);
    if (!r) {
      return fail(Code::InvalidArgument, "invalid container ID '" + std::string(text) + "': " +
                                             (part.empty() ? std::string("empty name")
                                                           : r.error().message().substr(r.error().message().rfind(": ") + 2)));
    }
    id.add_path(std::string(part));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (id.path_size() > kMaxDepth) {
    return fail(Code::InvalidArgument, "invalid container ID '" + std::string(text) +
                                           "': nesting depth " + std::to_string(id.path_size()) +
                                           " exceeds the limit of 32");
  }
  return id;
}

inline bool hasParent(const v1::ContainerID& id) { return id.path_size() > 1; }

inline v1::ContainerID parentOf(const v1::ContainerID& id) {
  v1::ContainerID p;
  for (int i = 0; i + 1 < id.path_size(); ++i) p.add_path(id.path(i));
  return p;
}

inline v1::ContainerID childOf(const v1::ContainerID& parent, const std::string& name) {
  v1::ContainerID c = parent;
  c.add_path(name);
  return c;
}

// True when `a` is a strict ancestor of `b`.
inline bool isAncestor(const v1::ContainerID& a, const v1::ContainerID& b) {
  if (a.path_size() >= b.path_size()) return false;
  for (int i = 0; i < a.path_size(); ++i) {
    if (a.path(i) != b.path(i)) return false;
  }
  return true;
}

}  // namespace warren
