#include "devices_bpf.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "controllers.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::isolators::cgroups::devices {

namespace {

// Instruction encoding (linux/bpf_common.h + linux/bpf.h), one 8-byte insn:
// code, dst:4|src:4, off (s16), imm (s32).
uint64_t insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  uint64_t v = code;
  v |= static_cast<uint64_t>((dst & 0xf) | ((src & 0xf) << 4)) << 8;
  v |= static_cast<uint64_t>(static_cast<uint16_t>(off)) << 16;
  v |= static_cast<uint64_t>(static_cast<uint32_t>(imm)) << 32;
  return v;
}

uint64_t ldxw(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0); }
uint64_t mov64Reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
uint64_t mov64Imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
uint64_t and32Imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm); }
uint64_t rsh32Imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm); }
uint64_t jneImm(uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
uint64_t exitInsn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int bpf(int cmd, bpf_attr* attr) {
  return static_cast<int>(::syscall(__NR_bpf, cmd, attr, sizeof(*attr)));
}

Result<UniqueFd> load(const std::vector<uint64_t>& prog, std::string* verifier_log) {
  static char log[4096];
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uint64_t>("GPL");
  if (verifier_log) {  // the kernel refuses a buffer without a log level
    attr.log_buf = reinterpret_cast<uint64_t>(log);
    attr.log_size = sizeof log;
    attr.log_level = 1;
  }
  std::memcpy(attr.prog_name, "warren_devices", sizeof("warren_devices"));
  log[0] = '\0';
  int fd = bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0) {
    if (verifier_log) *verifier_log = log;
    return fail(Error::errnoNow("load the device eBPF program"));
  }
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return UniqueFd(fd);
}

}  // namespace

Result<Rule> parseRule(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument,
                "invalid device rule '" + text + "': " + why + " (want e.g. 'c 1:3 rwm')");
  };
  Rule r;
  std::istringstream in(text);
  std::string type, majmin, access, extra;
  if (!(in >> type)) return bad("three fields expected");
  if (type == "a" && !(in >> majmin)) return r;
  if (!majmin.empty() || (in >> majmin)) {
    if (!(in >> access) || (in >> extra)) return bad("three fields expected");
  } else {
    return bad("three fields expected");
  }
  if (type != "c" && type != "b" && type != "a") return bad("type must be c, b or a");
  r.type = type[0];
  size_t colon = majmin.find(':');
  if (colon == std::string::npos) return bad("major:minor expected");
  auto num = [](const std::string& s, int64_t* out) {
    if (s == "*") return *out = -1, true;
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *out = std::stoll(s);
    return true;
  };
  if (!num(majmin.substr(0, colon), &r.major) || !num(majmin.substr(colon + 1), &r.minor)) {
    return bad("major and minor must be numbers or *");
  }
  if (access.empty() || access.find_first_not_of("rwm") != std::string::npos) {
    return bad("access must be made of r, w, m");
  }
  r.access = 0;
  for (char c : access) r.access |= c == 'm' ? kMknod : c == 'r' ? kRead : kWrite;
  return r;
}

std::vector<uint64_t> buildProgram(const std::vector<Rule>& allow) {
  // r1 = struct bpf_cgroup_dev_ctx* { u32 access_type; u32 major; u32 minor; }
  // access_type = (access << 16) | type
  std::vector<uint64_t> p = {
      ldxw(2, 1, 0),      // r2 = access_type
      mov64Reg(3, 2),     // r3 = type
      and32Imm(3, 0xffff),
      rsh32Imm(2, 16),    // r2 = access
      ldxw(4, 1, 4),      // r4 = major
      ldxw(5, 1, 8),      // r5 = minor
  };
  for (const Rule& r : allow) {
    std::vector<uint64_t> block;
    // Each check jumps to the end of this block (the next rule) when it fails;
    // offsets are patched once the block's length is known.
    std::vector<size_t> jumps;
    if (r.type != 'a') {
      jumps.push_back(block.size());
      block.push_back(jneImm(3, r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0));
    }
    if (r.major >= 0) {
      jumps.push_back(block.size());
      block.push_back(jneImm(4, static_cast<int32_t>(r.major), 0));
    }
    if (r.minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(jneImm(5, static_cast<int32_t>(r.minor), 0));
    }
    if (r.access != 7) {
      // Requested access must be a subset of the rule's: (access & ~allowed) == 0.
      block.push_back(mov64Reg(0, 2));
      block.push_back(and32Imm(0, static_cast<int32_t>(~r.access & 7)));
      jumps.push_back(block.size());
      block.push_back(jneImm(0, 0, 0));
    }
    block.push_back(mov64Imm(0, 1));
    block.push_back(exitInsn());
    for (size_t j : jumps) {
      int16_t off = static_cast<int16_t>(block.size() - j - 1);
      block[j] = (block[j] & ~(0xffffull << 16)) | (static_cast<uint64_t>(static_cast<uint16_t>(off)) << 16);
    }
    p.insert(p.end(), block.begin(), block.end());
  }
  p.push_back(mov64Imm(0, 0));
  p.push_back(exitInsn());
  return p;
}

Result<void> applyV2(const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<Rule> rules;
  std::vector<std::string> all = standardRules();
  all.insert(all.end(), extra.begin(), extra.end());
  for (const auto& s : all) {
    auto r = parseRule(s);
    if (!r) return fail(std::move(r.error()));
    rules.push_back(*r);
  }
  std::string log;
  auto insns = buildProgram(rules);
  auto prog = load(insns, nullptr);
  if (!prog) (void)load(insns, &log);
  if (!prog) {
    std::string first = log.substr(0, log.find('\n'));
    return fail(Error(prog.error().code(),
                      prog.error().message() + (first.empty() ? "" : " (verifier: " + first + ")"),
                      prog.error().err()));
  }
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return fail(Error::errnoNow("open cgroup '" + dir + "'"));
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cg.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog->get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) != 0) {
    return fail(Error::errnoNow("attach the device eBPF program to '" + dir + "'"));
  }
  return {};
}

bool isCgroup2(const std::string& dir) {
  struct statfs s {};
  return ::statfs(dir.c_str(), &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

bool supportedV2(const std::string& dir) {
  if (!isCgroup2(dir)) return false;
  return load(buildProgram({}), nullptr).has_value();
}

}  // namespace warren::isolators::cgroups::devices
