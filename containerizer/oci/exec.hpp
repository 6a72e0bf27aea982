// `warren-oci exec`: see exec.cpp.
#pragma once

#include <string>

#include "oci_spec.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/launch.pb.h"

namespace warren::oci {

struct ExecRequest {
  Spec spec;                    // parseProcessSpec(process.json)
  v1::LaunchInfo container_launch;  // the container's merged LaunchInfo (seccomp, default caps)
  std::string cgroup_path;      // linux.cgroupsPath
  int init_pid = -1;            // the container's warren-init
  std::string console_socket;   // with a terminal
  std::string pid_file;
  bool detach = false;
};

// Returns 0 when detached (the process runs on, reparented to the caller's
// subreaper), else the process's exit code (128+N for signal N).
Result<int> execProcess(const ExecRequest& req);

}  // namespace warren::oci
