// io (optional, enable_io): a proportional weight and per-device bandwidth /
// IOPS caps from the cgroups.io_weight and cgroups.io_max settings.
// v1 blkio: the weight needs the BFQ scheduler (blkio.bfq.weight) or the
// legacy CFQ one (blkio.weight); caps go to blkio.throttle.*_device.
// v2 io: io.weight "default N", io.max "MAJ:MIN rbps=.. wbps=.. riops=.. wiops=..".
#include <algorithm>

#include "cgroupfs.hpp"
#include "controllers.hpp"

namespace warren::isolators::cgroups::io {

uint32_t weightV1(uint32_t weight) { return std::clamp<uint32_t>(weight, 1, 1000); }

Result<void> applyV1(const std::string& dir, uint32_t weight, const std::vector<IoMax>& max) {
  if (weight > 0) {
    std::string file;
    uint32_t w = weightV1(weight);
    if (isFile(dir + "/blkio.bfq.weight")) {
      file = dir + "/blkio.bfq.weight";
    } else if (isFile(dir + "/blkio.weight")) {
      file = dir + "/blkio.weight";
      w = std::max<uint32_t>(w, 10);  // CFQ's range is 10..1000
    } else {
      return fail(Code::FailedPrecondition,
                  "cgroups.io_weight: cgroup v1 blkio has no weight here (it needs the BFQ or CFQ I/O "
                  "scheduler); cgroups.io_max caps work without one");
    }
    WARREN_TRY(writeExisting(file, std::to_string(w)));
  }
  for (const auto& m : max) {
    const std::pair<const char*, uint64_t> files[] = {{"read_bps_device", m.rbps},
                                                      {"write_bps_device", m.wbps},
                                                      {"read_iops_device", m.riops},
                                                      {"write_iops_device", m.wiops}};
    for (const auto& [name, v] : files) {
      if (v == 0) continue;
      auto r = writeExisting(dir + "/blkio.throttle." + name, m.device + " " + std::to_string(v));
      if (!r) return fail(std::move(r.error()).context("cgroups.io_max device " + m.device));
    }
  }
  return {};
}

Result<void> applyV2(const std::string& dir, uint32_t weight, const std::vector<IoMax>& max) {
  if (weight > 0) WARREN_TRY(writeExisting(dir + "/io.weight", "default " + std::to_string(weight)));
  for (const auto& m : max) {
    std::string line = m.device;
    if (m.rbps) line += " rbps=" + std::to_string(m.rbps);
    if (m.wbps) line += " wbps=" + std::to_string(m.wbps);
    if (m.riops) line += " riops=" + std::to_string(m.riops);
    if (m.wiops) line += " wiops=" + std::to_string(m.wiops);
    auto r = writeExisting(dir + "/io.max", line);
    if (!r) return fail(std::move(r.error()).context("cgroups.io_max device " + m.device));
  }
  return {};
}

}  // namespace warren::isolators::cgroups::io
