#include "check/elf_deps.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "warren/sdk/fd.hpp"

namespace warren::check {

namespace {

struct Mapped {
  const uint8_t* p = nullptr;
  size_t n = 0;
  ~Mapped() {
    if (p != nullptr) ::munmap(const_cast<uint8_t*>(p), n);
  }
};

bool inside(const Mapped& m, uint64_t off, uint64_t len) { return off <= m.n && len <= m.n - off; }

}  // namespace

Result<ElfDeps> readElfDeps(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno("open '" + path + "'");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("stat '" + path + "'");
  Mapped m;
  m.n = static_cast<size_t>(st.st_size);
  if (m.n < sizeof(Elf64_Ehdr)) return fail(Code::InvalidArgument, "'" + path + "' is not an ELF file");
  void* p = ::mmap(nullptr, m.n, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return failErrno("mmap '" + path + "'");
  m.p = static_cast<const uint8_t*>(p);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(m.p);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
    return fail(Code::InvalidArgument, "'" + path + "' is not a 64-bit ELF file");
  }
  if (!inside(m, eh->e_shoff, uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr))) {
    return fail(Code::InvalidArgument, "'" + path + "': section headers out of the file");
  }
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(m.p + eh->e_shoff);
  ElfDeps out;
  auto str = [&](const Elf64_Shdr& strtab, uint64_t off) -> std::string {
    if (!inside(m, strtab.sh_offset, strtab.sh_size) || off >= strtab.sh_size) return {};
    const char* s = reinterpret_cast<const char*>(m.p + strtab.sh_offset + off);
    return std::string(s, strnlen(s, strtab.sh_size - off));
  };
  for (int i = 0; i < eh->e_shnum; ++i) {
    const Elf64_Shdr& s = sh[i];
    if ((s.sh_type != SHT_DYNAMIC && s.sh_type != SHT_DYNSYM) || s.sh_link >= eh->e_shnum ||
        !inside(m, s.sh_offset, s.sh_size)) {
      continue;
    }
    const Elf64_Shdr& strtab = sh[s.sh_link];
    if (s.sh_type == SHT_DYNAMIC) {
      const auto* d = reinterpret_cast<const Elf64_Dyn*>(m.p + s.sh_offset);
      for (size_t k = 0; k < s.sh_size / sizeof(Elf64_Dyn) && d[k].d_tag != DT_NULL; ++k) {
        if (d[k].d_tag == DT_NEEDED) out.needed.push_back(str(strtab, d[k].d_un.d_val));
      }
    } else {
      const auto* sym = reinterpret_cast<const Elf64_Sym*>(m.p + s.sh_offset);
      for (size_t k = 1; k < s.sh_size / sizeof(Elf64_Sym); ++k) {
        int bind = ELF64_ST_BIND(sym[k].st_info);
        if (bind != STB_GLOBAL && bind != STB_WEAK) continue;
        std::string name = str(strtab, sym[k].st_name);
        if (name.empty()) continue;
        (sym[k].st_shndx == SHN_UNDEF ? out.undefined : out.exported).push_back(name);
      }
    }
  }
  return out;
}

std::vector<std::string> hostLoggingTies(const ElfDeps& deps) {
  std::vector<std::string> ties;
  for (const auto& n : deps.needed) {
    if (n.rfind("libspdlog", 0) == 0 || n.rfind("libfmt", 0) == 0) ties.push_back(n);
  }
  for (const auto& s : deps.undefined) {
    if (s.find("N6spdlog") != std::string::npos || s.find("N3fmt") != std::string::npos) ties.push_back(s);
  }
  return ties;
}

}  // namespace warren::check
