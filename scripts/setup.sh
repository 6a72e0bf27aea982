#!/usr/bin/env bash
# Installs everything warren needs to build and test (Debian 12); with
# --bench also the benchmark peers (crun, runc, conmon) and gnuplot.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "setup.sh: run as root (apt-get)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config ccache git ca-certificates \
  protobuf-compiler libprotobuf-dev \
  libboost-dev libboost-program-options-dev \
  libnl-3-dev libnl-route-3-dev libmount-dev \
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev \
  libexpected-dev nlohmann-json3-dev \
  libyaml-dev \
  libarchive-dev libssl-dev libcurl4-openssl-dev \
  busybox-static iproute2 procps util-linux openssl \
  umoci skopeo docker-registry \
  qemu-system-x86 cpio xz-utils file binutils \
  clang-14 libclang-rt-14-dev llvm-14 \
  libseccomp-dev crun golang-github-containers-common \
  zsh
# disk/xfs's tests make an XFS image (mkfs.xfs) and loop-mount it with prjquota.
apt-get install -y --no-install-recommends xfsprogs
# warren-oci's engine tests (tests/oci): containerd (ctr, the runc shim) and
# Podman (conmon) drive warren-oci as their OCI runtime.
apt-get install -y --no-install-recommends containerd podman conmon
# A Podman pod's infra process (podman-pause image) in tests/oci.
apt-get install -y --no-install-recommends catatonit
# The CRI test (tests/oci/oci_cri_test.cpp): its client speaks gRPC with
# python3-grpcio; the pod network is CNI's host-device plugin.
apt-get install -y --no-install-recommends python3-grpcio containernetworking-plugins
# The cgroup-v2 VM lane (tests/vm): Debian's cloud kernel, unpacked (not
# installed) into a cache dir that tests/vm/run.sh boots under qemu.
vm_kernel_dir=/var/cache/warren-vm/kernel
if ! ls "$vm_kernel_dir"/boot/vmlinuz-* >/dev/null 2>&1; then
  pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}')"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download "$pkg")
  mkdir -p "$vm_kernel_dir"
  dpkg-deb -x "$tmp"/*.deb "$vm_kernel_dir"
  rm -rf "$tmp"
fi
# The benchmarks' peers and chart: `scripts/setup.sh --bench`.
if [ "${1:-}" = --bench ]; then
  apt-get install -y --no-install-recommends crun runc conmon gnuplot-nox
fi
