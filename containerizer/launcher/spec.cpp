#include "launcher/spec.hpp"

#include <sched.h>
#include <strings.h>
#include <sys/resource.h>

#include <cstring>

namespace warren::launcher {
namespace {

constexpr char kMagic[] = "WSPEC1\n";
constexpr size_t kMagicLen = sizeof(kMagic) - 1;

enum Tag : uint8_t {
  kRuntimeDir = 1,
  kArgv = 2,
  kEnv = 3,
  kNamespace = 4,
  kRootfs = 5,
  kReadonlyRootfs = 6,
  kMount = 7,
  kMasked = 8,
  kReadonly = 9,
  kHostname = 10,
  kUser = 11,
  kWorkingDir = 12,
  kCapability = 13,
  kRlimit = 14,
  kPreExec = 15,
  kSeccomp = 16,
  kIo = 17,  // u8 flags, u16 rows, u16 cols, u64 log_max_bytes
  kSandboxRoot = 18,
  kSandboxDir = 19,
  kHoldUntilStart = 20,  // empty (presence)
  kConsole = 21,         // u16 rows, u16 cols
  kRootfsUpper = 22,
  kRootfsUpperRoot = 23,
  kHostRoot = 24,
  kChownPath = 25,
  kMaxCompletion = 26,  // u64 ms
  kForked = 27,         // empty (presence)
  kInheritableCap = 28,  // u32, repeated
  kAmbientCap = 29,      // u32, repeated
};

// Mount sub-record tags.
enum MountTag : uint8_t {
  kMSource = 1, kMTarget, kMType, kMOption, kMCreateDir, kMCreateFile, kMSourceRoot
};

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t getLE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
void put(std::string& out, uint8_t tag, const std::string& payload) {
  out.push_back(static_cast<char>(tag));
  putU32(out, static_cast<uint32_t>(payload.size()));
  out += payload;
}

// Iterates records of a buffer; false on truncation.
struct Reader {
  const char* p;
  const char* end;
  bool next(uint8_t* tag, std::string* payload) {
    if (end - p < 5) return false;
    *tag = static_cast<uint8_t>(p[0]);
    uint64_t len = getLE(p + 1, 4);
    p += 5;
    if (static_cast<uint64_t>(end - p) < len) return false;
    payload->assign(p, len);
    p += len;
    return true;
  }
  bool done() const { return p == end; }
};

const char* const kCapNames[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"};
constexpr int kNumCaps = sizeof(kCapNames) / sizeof(kCapNames[0]);

// Full names, for messages.
const char* const kCapFullNames[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

const char* const kRlimitNames[] = {"RLIMIT_CPU",     "RLIMIT_FSIZE",   "RLIMIT_DATA",
                                    "RLIMIT_STACK",   "RLIMIT_CORE",    "RLIMIT_RSS",
                                    "RLIMIT_NPROC",   "RLIMIT_NOFILE",  "RLIMIT_MEMLOCK",
                                    "RLIMIT_AS",      "RLIMIT_LOCKS",   "RLIMIT_SIGPENDING",
                                    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_RTPRIO",
                                    "RLIMIT_RTTIME"};
constexpr int kNumRlimits = sizeof(kRlimitNames) / sizeof(kRlimitNames[0]);
static_assert(kNumRlimits == RLIM_NLIMITS);

// Every namespace kind a spec may name (user and time included, for later).
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID |
                                     CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWTIME;

std::string stripPrefix(const std::string& name, const char* prefix) {
  size_t n = std::strlen(prefix);
  if (name.size() > n && strncasecmp(name.c_str(), prefix, n) == 0) return name.substr(n);
  return name;
}

}  // namespace

std::string encodeSpec(const Spec& s) {
  std::string out(kMagic, kMagicLen);
  put(out, kRuntimeDir, s.runtime_dir);
  for (const auto& a : s.argv) put(out, kArgv, a);
  for (const auto& e : s.env) put(out, kEnv, e);
  for (const auto& n : s.namespaces) {
    std::string p;
    putU64(p, n.flag);
    p.push_back(n.enter ? 1 : 0);
    p += n.path;
    put(out, kNamespace, p);
  }
  if (!s.rootfs.empty()) put(out, kRootfs, s.rootfs);
  if (s.readonly_rootfs) put(out, kReadonlyRootfs, "");
  for (const auto& m : s.mounts) {
    std::string p;
    put(p, kMSource, m.source);
    put(p, kMTarget, m.target);
    put(p, kMType, m.type);
    for (const auto& o : m.options) put(p, kMOption, o);
    if (m.create_dir) put(p, kMCreateDir, "");
    if (m.create_file) put(p, kMCreateFile, "");
    if (!m.source_root.empty()) put(p, kMSourceRoot, m.source_root);
    put(out, kMount, p);
  }
  for (const auto& m : s.masked_paths) put(out, kMasked, m);
  for (const auto& r : s.readonly_paths) put(out, kReadonly, r);
  if (!s.hostname.empty()) put(out, kHostname, s.hostname);
  if (!s.user.empty()) put(out, kUser, s.user);
  if (!s.working_dir.empty()) put(out, kWorkingDir, s.working_dir);
  for (int c : s.capabilities) {
    std::string p;
    putU32(p, static_cast<uint32_t>(c));
    put(out, kCapability, p);
  }
  for (auto [tag, caps] : {std::pair{kInheritableCap, &s.inheritable_caps}, {kAmbientCap, &s.ambient_caps}}) {
    for (int c : *caps) {
      std::string p;
      putU32(p, static_cast<uint32_t>(c));
      put(out, tag, p);
    }
  }
  for (const auto& r : s.rlimits) {
    std::string p;
    putU32(p, static_cast<uint32_t>(r.resource));
    putU64(p, r.soft);
    putU64(p, r.hard);
    put(out, kRlimit, p);
  }
  for (const auto& argv : s.pre_exec) {
    std::string p;
    for (const auto& a : argv) put(p, kArgv, a);
    put(out, kPreExec, p);
  }
  if (!s.seccomp_bpf.empty()) put(out, kSeccomp, s.seccomp_bpf);
  if (s.hold_until_start) put(out, kHoldUntilStart, "");
  if (s.console) {
    std::string p;
    p.push_back(static_cast<char>(s.console_rows & 0xff));
    p.push_back(static_cast<char>(s.console_rows >> 8));
    p.push_back(static_cast<char>(s.console_cols & 0xff));
    p.push_back(static_cast<char>(s.console_cols >> 8));
    put(out, kConsole, p);
  }
  if (s.io.relay) {
    std::string p(1, static_cast<char>(1 | (s.io.tty ? 2 : 0) | (s.io.stdin_open ? 4 : 0) |
                                        (s.io.hold_output ? 8 : 0)));
    p.push_back(static_cast<char>(s.io.rows & 0xff));
    p.push_back(static_cast<char>(s.io.rows >> 8));
    p.push_back(static_cast<char>(s.io.cols & 0xff));
    p.push_back(static_cast<char>(s.io.cols >> 8));
    putU64(p, s.io.log_max_bytes);
    put(out, kIo, p);
    put(out, kSandboxRoot, s.io.sandbox_root);
    put(out, kSandboxDir, s.io.sandbox_dir);
  }
  if (!s.rootfs_upper.empty()) put(out, kRootfsUpper, s.rootfs_upper);
  if (!s.rootfs_upper_root.empty()) put(out, kRootfsUpperRoot, s.rootfs_upper_root);
  if (s.host_root) put(out, kHostRoot, "");
  for (const auto& p : s.chown_paths) put(out, kChownPath, p);
  if (s.max_completion_ms != 0) {
    std::string p;
    putU64(p, s.max_completion_ms);
    put(out, kMaxCompletion, p);
  }
  if (s.forked) put(out, kForked, "");
  return out;
}

bool decodeSpec(const char* data, size_t size, Spec* out) {
  if (size < kMagicLen || std::memcmp(data, kMagic, kMagicLen) != 0) return false;
  Reader r{data + kMagicLen, data + size};
  Spec s;
  uint8_t tag;
  std::string p;
  while (!r.done()) {
    if (!r.next(&tag, &p)) return false;
    switch (tag) {
      case kRuntimeDir: s.runtime_dir = p; break;
      case kArgv: s.argv.push_back(p); break;
      case kEnv: s.env.push_back(p); break;
      case kNamespace: {
        if (p.size() < 9) return false;
        NsSpec n;
        n.flag = getLE(p.data(), 8);
        // One CLONE_NEW* bit: warren-init passes it to unshare/setns as is.
        if ((n.flag & kNamespaceFlags) != n.flag || n.flag == 0 || (n.flag & (n.flag - 1)) != 0) {
          return false;
        }
        n.enter = p[8] != 0;
        n.path = p.substr(9);
        s.namespaces.push_back(std::move(n));
        break;
      }
      case kRootfs: s.rootfs = p; break;
      case kReadonlyRootfs: s.readonly_rootfs = true; break;
      case kHoldUntilStart: s.hold_until_start = true; break;
      case kConsole:
        if (p.size() != 4) return false;
        s.console = true;
        s.console_rows = static_cast<uint16_t>(getLE(p.data(), 2));
        s.console_cols = static_cast<uint16_t>(getLE(p.data() + 2, 2));
        break;
      case kMount: {
        MountSpec m;
        Reader mr{p.data(), p.data() + p.size()};
        uint8_t mt;
        std::string mp;
        while (!mr.done()) {
          if (!mr.next(&mt, &mp)) return false;
          switch (mt) {
            case kMSource: m.source = mp; break;
            case kMTarget: m.target = mp; break;
            case kMType: m.type = mp; break;
            case kMOption: m.options.push_back(mp); break;
            case kMCreateDir: m.create_dir = true; break;
            case kMCreateFile: m.create_file = true; break;
            case kMSourceRoot: m.source_root = mp; break;
            default: return false;
          }
        }
        s.mounts.push_back(std::move(m));
        break;
      }
      case kMasked: s.masked_paths.push_back(p); break;
      case kReadonly: s.readonly_paths.push_back(p); break;
      case kHostname: s.hostname = p; break;
      case kUser: s.user = p; break;
      case kWorkingDir: s.working_dir = p; break;
      // Numbers warren-init indexes tables and bitmasks with: in range or refused.
      case kCapability:
      case kInheritableCap:
      case kAmbientCap:
        if (p.size() != 4 || getLE(p.data(), 4) >= static_cast<uint64_t>(kNumCaps)) return false;
        (tag == kCapability ? s.capabilities : tag == kInheritableCap ? s.inheritable_caps : s.ambient_caps)
            .push_back(static_cast<int>(getLE(p.data(), 4)));
        break;
      case kRlimit:
        if (p.size() != 20 || getLE(p.data(), 4) >= static_cast<uint64_t>(kNumRlimits)) return false;
        s.rlimits.push_back({static_cast<int>(getLE(p.data(), 4)), getLE(p.data() + 4, 8),
                             getLE(p.data() + 12, 8)});
        break;
      case kPreExec: {
        std::vector<std::string> argv;
        Reader ar{p.data(), p.data() + p.size()};
        uint8_t at;
        std::string ap;
        while (!ar.done()) {
          if (!ar.next(&at, &ap) || at != kArgv) return false;
          argv.push_back(ap);
        }
        s.pre_exec.push_back(std::move(argv));
        break;
      }
      case kSeccomp:
        if (p.empty() || p.size() % 8 != 0) return false;  // whole sock_filter entries
        s.seccomp_bpf = p;
        break;
      case kIo: {
        if (p.size() != 13) return false;
        uint8_t f = static_cast<uint8_t>(p[0]);
        s.io.relay = (f & 1) != 0;
        s.io.tty = (f & 2) != 0;
        s.io.stdin_open = (f & 4) != 0;
        s.io.hold_output = (f & 8) != 0;
        s.io.rows = static_cast<uint16_t>(getLE(p.data() + 1, 2));
        s.io.cols = static_cast<uint16_t>(getLE(p.data() + 3, 2));
        s.io.log_max_bytes = getLE(p.data() + 5, 8);
        break;
      }
      case kSandboxRoot: s.io.sandbox_root = p; break;
      case kSandboxDir: s.io.sandbox_dir = p; break;
      case kRootfsUpper: s.rootfs_upper = p; break;
      case kRootfsUpperRoot: s.rootfs_upper_root = p; break;
      case kHostRoot: s.host_root = true; break;
      case kChownPath: s.chown_paths.push_back(p); break;
      case kMaxCompletion:
        if (p.size() != 8) return false;
        s.max_completion_ms = getLE(p.data(), 8);
        break;
      case kForked: s.forked = true; break;
      default: return false;  // unknown tag: launcher and init must match
    }
  }
  *out = std::move(s);
  return true;
}

int capabilityFromName(const std::string& name) {
  std::string n = stripPrefix(name, "CAP_");
  for (int i = 0; i < kNumCaps; ++i) {
    if (strcasecmp(n.c_str(), kCapNames[i]) == 0) return i;
  }
  return -1;
}

const char* capabilityName(int cap) {
  return cap >= 0 && cap < kNumCaps ? kCapFullNames[cap] : nullptr;
}

int rlimitFromName(const std::string& name) {
  std::string n = stripPrefix(name, "RLIMIT_");
  for (int i = 0; i < kNumRlimits; ++i) {
    if (strcasecmp(n.c_str(), kRlimitNames[i] + 7) == 0) return i;
  }
  return -1;
}

const char* rlimitName(int resource) {
  return resource >= 0 && resource < kNumRlimits ? kRlimitNames[resource] : "RLIMIT_?";
}

const char* namespaceName(uint64_t flag) {
  switch (flag) {
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWUSER: return "user";
    default: return "?";
  }
}

std::vector<int> defaultCapabilities() {
  return {29 /*AUDIT_WRITE*/, 5 /*KILL*/, 10 /*NET_BIND_SERVICE*/};
}

}  // namespace warren::launcher
