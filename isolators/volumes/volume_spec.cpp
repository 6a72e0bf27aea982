#include "volume_spec.hpp"

#include <cctype>
#include <limits>
#include <vector>

#include "volume_paths.hpp"

namespace warren::volumes {
namespace {

std::vector<std::string_view> splitColons(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t c = s.find(':', start);
    if (c == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, c - start));
    start = c + 1;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* typeWord(v1::Volume::Source s) {
  switch (s) {
    case v1::Volume::SANDBOX_SELF: return "sandbox";
    case v1::Volume::SANDBOX_PARENT: return "parent";
    case v1::Volume::HOST_PATH: return "host";
    case v1::Volume::TMPFS: return "tmpfs";
    default: return "?";
  }
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text) {
  if (text.empty()) return fail(Code::InvalidArgument, "empty size");
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return fail(Code::InvalidArgument, "size '" + std::string(text) + "' is too large");
    }
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) {
    return fail(Code::InvalidArgument,
                "size '" + std::string(text) + "' is not a number (e.g. 64m, 1g, 4096)");
  }
  std::string suffix = lower(text.substr(i));
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default:
        return fail(Code::InvalidArgument, "size '" + std::string(text) +
                                               "' has an unknown unit (use k, m, g or t)");
    }
    std::string rest = suffix.substr(1);
    if (!rest.empty() && rest != "b" && rest != "ib") {
      return fail(Code::InvalidArgument, "size '" + std::string(text) +
                                             "' has an unknown unit (use k, m, g or t)");
    }
  }
  if (value == 0) return fail(Code::InvalidArgument, "size '" + std::string(text) + "' is zero");
  if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return fail(Code::InvalidArgument, "size '" + std::string(text) + "' is too large");
  }
  return value << shift;
}

std::string formatSize(uint64_t bytes) {
  static const struct {
    unsigned shift;
    char unit;
  } units[] = {{40, 't'}, {30, 'g'}, {20, 'm'}, {10, 'k'}};
  for (const auto& u : units) {
    uint64_t mask = (uint64_t{1} << u.shift) - 1;
    if (bytes != 0 && (bytes & mask) == 0) return std::to_string(bytes >> u.shift) + u.unit;
  }
  return std::to_string(bytes);
}

Result<v1::Volume> parseVolumeSpec(std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "invalid volume '" + std::string(spec) + "': " + why);
  };
  auto parts = splitColons(spec);
  if (parts.size() < 3) return bad("expected TYPE:SOURCE:TARGET[:OPTION]...");
  if (parts.size() > 6) return bad("too many ':' (paths may not contain ':')");
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) {
      static const char* names[] = {"type", "source", "target"};
      return bad(std::string("empty ") + (i < 3 ? names[i] : "option"));
    }
  }
  v1::Volume v;
  std::string type = lower(parts[0]);
  if (type == "sandbox") {
    v.set_source(v1::Volume::SANDBOX_SELF);
  } else if (type == "parent") {
    v.set_source(v1::Volume::SANDBOX_PARENT);
  } else if (type == "host") {
    v.set_source(v1::Volume::HOST_PATH);
  } else if (type == "tmpfs") {
    v.set_source(v1::Volume::TMPFS);
  } else if (type == "image") {
    return fail(Code::Unimplemented,
                "invalid volume '" + std::string(spec) + "': image volumes are not supported yet");
  } else {
    return bad("unknown type '" + std::string(parts[0]) + "' (use sandbox, parent, host or tmpfs)");
  }
  if (v.source() == v1::Volume::TMPFS) {
    auto size = parseSize(parts[1]);
    if (!size) return bad(size.error().message());
    v.set_size_bytes(*size);
  } else {
    v.set_source_path(std::string(parts[1]));
  }
  v.set_container_path(std::string(parts[2]));
  bool mode_given = false;
  for (size_t i = 3; i < parts.size(); ++i) {
    std::string opt = lower(parts[i]);
    if (opt[0] == '/') return bad("too many ':' (paths may not contain ':')");
    if (opt == "ro" || opt == "rw") {
      if (mode_given) return bad("ro/rw given twice");
      mode_given = true;
      v.set_read_only(opt == "ro");
    } else if (opt == "create") {
      if (v.create()) return bad("create given twice");
      v.set_create(true);
    } else if (opt == "rshared" || opt == "rslave" || opt == "private") {
      if (!v.propagation().empty()) return bad("more than one propagation option");
      v.set_propagation(opt);
    } else {
      return bad("unknown option '" + std::string(parts[i]) + "' (use ro, rw, create, rshared, rslave or private)");
    }
  }
  // Shape only: `nested` is unknown here, so PARENT is accepted and the
  // isolator refuses it for top-level containers.
  auto shape = checkVolumeShape(v, /*nested=*/true, /*max_tmpfs_bytes=*/0);
  if (!shape) return bad(shape.error().message());
  return v;
}

std::string formatVolumeSpec(const v1::Volume& v) {
  std::string out = typeWord(v.source());
  out += ':';
  out += v.source() == v1::Volume::TMPFS ? formatSize(v.size_bytes()) : v.source_path();
  out += ':';
  out += v.container_path();
  if (v.read_only()) out += ":ro";
  if (v.create()) out += ":create";
  if (!v.propagation().empty()) out += ":" + v.propagation();
  return out;
}

}  // namespace warren::volumes
