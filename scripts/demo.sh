#!/usr/bin/env bash
# warren's main job, end to end: install, build, then run a pod - a top-level
# container with limits and a shared volume - and inside it a task group of
# nested containers, each with its own memory limit, delivered all-or-nothing.
# One member writes to the pod's shared volume, the other reads it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${WARREN_DEMO_SKIP_SETUP:-}" != 1 ]; then
  scripts/setup.sh >/dev/null
  scripts/build.sh
fi

demo=$(mktemp -d /tmp/warren-demo.XXXXXX)
W=(build/bin/warren --work_dir "$demo/work" --runtime_dir "$demo/run" --cgroups_root /warren-demo)
cleanup() {
  "${W[@]}" destroy pod >/dev/null 2>&1 || true
  rm -rf "$demo"
  for c in /sys/fs/cgroup/*/warren-demo /sys/fs/cgroup/warren-demo; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
  true
}
trap cleanup EXIT

# A root filesystem: static busybox and one symlink per applet.
rootfs="$demo/rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,shared}
cp /bin/busybox "$rootfs/bin/busybox"
for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -sf busybox "$rootfs/bin/$app"; done

echo "== plugins"
"${W[@]}" plugins
echo
echo "== the pod: 1 cpu, 256 MiB, a volume 'shared' in its sandbox at /shared"
"${W[@]}" launch --id pod --rootfs "$rootfs" --cpus 1 --mem 256M --pids 64 \
  --volume sandbox:shared:/shared -- /bin/sleep 600

cat > "$demo/group.json" <<'JSON'
{
  "name": "web",
  "policy": "kill_group",
  "grace_period_ms": 2000,
  "members": [
    {"name": "writer",
     "config": {"command": {"value": "/bin/sh", "shell": false,
                            "arguments": ["-c", "echo \"hello from $(hostname)'s writer\" > /shared/msg; sleep 2"]},
                "resources": {"mem_bytes": "67108864", "pids": "16"}}},
    {"name": "reader",
     "config": {"command": {"value": "/bin/sh",
                            "arguments": ["-c", "while [ ! -s /shared/msg ]; do sleep 0.1; done; echo \"reader (pid $$ in its own pid namespace) read: $(cat /shared/msg)\""]},
                "resources": {"mem_bytes": "33554432", "pids": "16"}}}
  ]
}
JSON
echo
echo "== a task group of nested containers (64 MiB and 32 MiB each), all-or-nothing"
"${W[@]}" group launch --parent pod "$demo/group.json"
"${W[@]}" ps
echo
echo "== limits and usage of pod.writer"
"${W[@]}" status pod.writer | grep -E "state|cgroup"
"${W[@]}" usage pod.writer
echo
echo "== waiting for the group"
"${W[@]}" group wait pod web
echo
echo "== what the reader printed"
cat "$demo/work/sandboxes/pod/containers/reader/stdout"
echo
echo "== destroy the pod (children first)"
"${W[@]}" destroy pod
"${W[@]}" ps
echo "demo done: nothing left behind"
