#!/bin/sh
# Stage 2: a cgroup-v2-only host. Runs /cmd.N in order, reports the first
# failure's exit code on the console as WARREN_VM_RC=N, and powers off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount --make-rshared /
for m in llc stp bridge veth overlay loop libcrc32c xfs; do [ -e /modules/$m.ko ] && insmod /modules/$m.ko 2>/dev/null; done
ip link set lo up 2>/dev/null
hostname warren-vm
# Every controller the kernel has, delegated to the root's children.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
echo "vm: cgroup.controllers = $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "vm: kernel $(uname -r), $(nproc) cpus, $(grep MemTotal /proc/meminfo)"
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
rc=0
i=0
while [ -e /cmd.$i ]; do
  echo "vm: \$ $(cat /cmd.$i)"
  sh /cmd.$i
  r=$?
  echo "vm: exit $r"
  [ $rc -eq 0 ] && [ $r -ne 0 ] && rc=$r
  i=$((i + 1))
done
echo "WARREN_VM_RC=$rc"
sync
poweroff -f
