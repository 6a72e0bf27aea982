#!/usr/bin/python3
"""A small CRI client for warren's tests (tests/oci/oci_cri_test.cpp).

Drives a containerd CRI plugin the way a kubelet does for one pod: Version,
RunPodSandbox, PodSandboxStatus, CreateContainer + StartContainer in it,
ContainerStatus until it exited, its CRI log, then RemoveContainer,
StopPodSandbox, RemovePodSandbox (also when a step failed). Prints one JSON
object with what it saw; the C++ test asserts on it.

Messages come from cri_subset.proto (our subset of runtime.v1, the public
field numbers), compiled at run time with the build's protoc; calls are made
by method path with python3-grpcio (no generated stubs, so no grpc_tools).
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))


def load_messages(protoc):
    out = tempfile.mkdtemp(prefix="cri-pb-")
    subprocess.run([protoc, "-I", HERE, "--python_out=" + out, os.path.join(HERE, "cri_subset.proto")],
                   check=True)
    sys.path.insert(0, out)
    return importlib.import_module("cri_subset_pb2")


class Cri:
    def __init__(self, pb, socket):
        self.pb = pb
        self.channel = grpc.insecure_channel("unix://" + socket)

    def call(self, service, method, request, response, timeout=120):
        rpc = self.channel.unary_unary("/runtime.v1.%s/%s" % (service, method),
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=response.FromString)
        return rpc(request, timeout=timeout)

    def runtime(self, method, request):
        return self.call("RuntimeService", method, request, getattr(self.pb, method + "Response"))


def ns_links(pid):
    return {t: os.readlink("/proc/%d/ns/%s" % (pid, t)) for t in ("net", "ipc", "uts", "pid")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--protoc", default="protoc")
    ap.add_argument("--image", required=True)
    ap.add_argument("--handler", default="warren")
    ap.add_argument("--cgroup-parent", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--name", default="wpod")
    ap.add_argument("--script", required=True, help="sh -c script of the container")
    args = ap.parse_args()

    pb = load_messages(args.protoc)
    cri = Cri(pb, args.socket)
    seen = {}
    v = cri.runtime("Version", pb.VersionRequest(version="v1"))
    seen["runtime_name"] = v.runtime_name
    seen["runtime_api_version"] = v.runtime_api_version

    sandbox = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=args.name, uid=args.name + "-uid", namespace="default", attempt=0),
        hostname=args.name, log_directory=args.log_dir,
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=args.cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))
    pod_id = cid = None
    try:
        pod_id = cri.runtime("RunPodSandbox",
                             pb.RunPodSandboxRequest(config=sandbox, runtime_handler=args.handler)).pod_sandbox_id
        st = cri.runtime("PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=True))
        seen["sandbox_state"] = pb.PodSandboxState.Name(st.status.state)
        seen["sandbox_ip"] = st.status.network.ip
        info = json.loads(st.info.get("info", "{}"))
        seen["sandbox_pid"] = info.get("pid", 0)
        if seen["sandbox_pid"]:
            seen["sandbox_ns"] = ns_links(seen["sandbox_pid"])

        config = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c1", attempt=0),
                                    image=pb.ImageSpec(image=args.image),
                                    command=["/bin/sh", "-c", args.script], log_path="c1.log",
                                    # as a kubelet asks for shareProcessNamespace: every namespace the pod's
                                    linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
                                        namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.POD,
                                                                             ipc=pb.POD))))
        cid = cri.runtime("CreateContainer", pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=config, sandbox_config=sandbox)).container_id
        cri.runtime("StartContainer", pb.StartContainerRequest(container_id=cid))
        deadline = time.time() + 60
        while True:
            cs = cri.runtime("ContainerStatus", pb.ContainerStatusRequest(container_id=cid)).status
            if cs.state == pb.CONTAINER_EXITED or time.time() > deadline:
                break
            time.sleep(0.1)
        seen["container_state"] = pb.ContainerState.Name(cs.state)
        seen["exit_code"] = cs.exit_code
        seen["reason"] = cs.reason
        # CRI log lines: "<time> stdout|stderr F|P <text>"
        lines = []
        with open(os.path.join(args.log_dir, "c1.log")) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 3)
                if len(parts) == 4:
                    lines.append(parts[3])
        seen["log"] = lines
    except grpc.RpcError as e:
        seen["error"] = "%s: %s" % (e.code().name, e.details())
    finally:
        # Tear down whatever was made, as a kubelet does; every step reported.
        steps = []
        if cid:
            steps.append(("RemoveContainer", pb.RemoveContainerRequest(container_id=cid)))
        if pod_id:
            steps.append(("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod_id)))
            steps.append(("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id)))
        seen["teardown"] = []
        for method, req in steps:
            try:
                cri.runtime(method, req)
                seen["teardown"].append(method + " ok")
            except grpc.RpcError as e:
                seen["teardown"].append("%s: %s: %s" % (method, e.code().name, e.details()))
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
