// Pressure stall information (PSI) of a cgroup2 directory: cpu.pressure,
// memory.pressure and io.pressure. The kernel writes two lines, "some" and
// "full" (cpu's "full" is all zero before 5.13 and at the root), each
// "avg10=P avg60=P avg300=P total=USECS".
#include <cstdio>
#include <cstring>

#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::pressure {

std::optional<Pressure> read(const std::string& file) {
  auto text = readValue(file);
  if (!text) return std::nullopt;
  Pressure p;
  bool some = false;
  const char* line = text->c_str();
  while (*line != '\0') {
    char kind[5] = {};
    double a10 = 0, a60 = 0, a300 = 0;
    unsigned long long total = 0;
    if (std::sscanf(line, "%4s avg10=%lf avg60=%lf avg300=%lf total=%llu", kind, &a10, &a60, &a300, &total) == 5) {
      if (std::strcmp(kind, "some") == 0) {
        p.some[0] = a10, p.some[1] = a60, p.some[2] = a300, p.some_total_usecs = total;
        some = true;
      } else if (std::strcmp(kind, "full") == 0) {
        p.full[0] = a10, p.full[1] = a60, p.full[2] = a300, p.full_total_usecs = total;
      }
    }
    const char* nl = std::strchr(line, '\n');
    if (nl == nullptr) break;
    line = nl + 1;
  }
  if (!some) return std::nullopt;
  return p;
}

void stats(const std::string& dir, Stats& s) {
  s.cpu_pressure = read(dir + "/cpu.pressure");
  s.memory_pressure = read(dir + "/memory.pressure");
  s.io_pressure = read(dir + "/io.pressure");
}

}  // namespace warren::isolators::cgroups::pressure
