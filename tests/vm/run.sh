#!/usr/bin/env bash
# Boots a real cgroup-v2-only Linux host under qemu (TCG; KVM is not needed)
# and runs warren's test binaries inside it. The guest is Debian's cloud
# kernel with a busybox initramfs built here from the build tree: the test
# binaries, warren, warren-init, the plugins and every shared library they
# need, at the same absolute paths as on the host (tests find the build tree
# by compiled-in paths).
#
#   tests/vm/run.sh BUILD_DIR 'cmd1' ['cmd2' ...]
#
# Each command runs in the guest with /bin/sh; the script prints the guest's
# console and exits with the first non-zero exit code of the commands (0 when
# all pass). Exit 77 means the VM could not be started here (no qemu or no
# kernel): ctest reports that as skipped, with the reason printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run.sh BUILD_DIR CMD...}" && pwd)"
shift
[ $# -gt 0 ] || { echo "run.sh: no command to run in the guest" >&2; exit 2; }

kernel_dir="${WARREN_VM_KERNEL_DIR:-/var/cache/warren-vm/kernel}"
qemu="$(command -v qemu-system-x86_64 || true)"
if [ -z "$qemu" ]; then echo "skipped: qemu-system-x86_64 is not installed (scripts/setup.sh installs it)"; exit 77; fi
vmlinuz="$(ls "$kernel_dir"/boot/vmlinuz-* 2>/dev/null | head -1 || true)"
if [ -z "$vmlinuz" ]; then echo "skipped: no guest kernel under $kernel_dir (scripts/setup.sh unpacks linux-image-cloud-amd64 there)"; exit 77; fi
kver="$(basename "$vmlinuz" | sed 's/^vmlinuz-//')"

stage="$(mktemp -d /tmp/warren-vm.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,newroot,modules}

# busybox and its applets
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
done

# An ELF with every library it needs, at its own path, stripped of debug info.
copied="$stage/copied"; : > "$copied"
add_file() {
  local f="$1"
  grep -qxF "$f" "$copied" && return 0
  echo "$f" >> "$copied"
  mkdir -p "$root$(dirname "$f")"
  if file -b "$f" 2>/dev/null | grep -q ELF; then
    objcopy --strip-debug "$f" "$root$f" 2>/dev/null || cp -L "$f" "$root$f"
    chmod --reference="$f" "$root$f"
    local lib
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
      [ -e "$lib" ] && add_file "$(readlink -f "$lib")" && link_alias "$lib"
    done
  else
    cp -L "$f" "$root$f"
  fi
}
# ldd names a library by its soname path; keep that name pointing at the file.
link_alias() {
  local name="$1" real
  real="$(readlink -f "$name")"
  if [ "$name" != "$real" ] && [ ! -e "$root$name" ]; then
    mkdir -p "$root$(dirname "$name")"
    ln -s "$real" "$root$name"
  fi
}

# The build tree's runnable parts: bin/, lib/, plugins, and every file of the
# build tree a command names (its test binaries).
while IFS= read -r f; do add_file "$f"; done < <(
  find "$build/bin" "$build/lib" "$build/plugins" -maxdepth 1 -type f \
    \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) 2>/dev/null
  for c in "$@"; do
    for w in $c; do case "$w" in "$build"/*) [ -f "$w" ] && echo "$w" ;; esac; done
  done)
# Symlinks in the build tree (lib soname links).
while IFS= read -r l; do
  mkdir -p "$root$(dirname "$l")"; cp -P "$l" "$root$l"
done < <(find "$build/lib" "$build/plugins" "$build/bin" -maxdepth 1 -type l 2>/dev/null)
# The dynamic loader itself.
for ld in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
  [ -e "$ld" ] && { add_file "$(readlink -f "$ld")"; link_alias "$ld"; }
done
# Tools tests and the bench call (crun, and unshare + chroot for its floor) when present.
for tool in /usr/bin/crun /usr/bin/find /usr/bin/unshare /usr/sbin/chroot /usr/sbin/mkfs.xfs; do [ -x "$tool" ] && add_file "$tool"; done
# The source tree's test data (fixtures some tests read).
src="$(cd "$here/../.." && pwd)"
mkdir -p "$root$src/tests"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

# Kernel modules the tests may need, decompressed (busybox insmod reads plain .ko).
moddir="$kernel_dir/lib/modules/$kver/kernel"
for m in net/802/stp net/llc/llc net/bridge/bridge drivers/net/veth fs/overlayfs/overlay drivers/block/loop \
    lib/libcrc32c fs/xfs/xfs; do
  for f in "$moddir/$m.ko" "$moddir/$m.ko.xz"; do
    [ -e "$f" ] || continue
    case "$f" in *.xz) xz -dc "$f" > "$root/modules/$(basename "$m").ko" ;; *) cp "$f" "$root/modules/" ;; esac
  done
done

# The commands, one script per command.
i=0
for c in "$@"; do printf '%s\n' "$c" > "$root/cmd.$i"; i=$((i + 1)); done

cp "$here/guest_init.sh" "$root/init"
cp "$here/guest_stage2.sh" "$root/stage2"
chmod +x "$root/init" "$root/stage2"

(cd "$root" && find . | cpio -o -H newc --quiet) > "$stage/initrd.cpio"

echo "vm: booting $kver with $(du -sh "$stage/initrd.cpio" | cut -f1) initramfs, $# command(s)"
out="$stage/console.log"
set +e
timeout "${WARREN_VM_TIMEOUT:-900}" "$qemu" -accel tcg -m "${WARREN_VM_MEM:-3072}" -smp 2 \
  -nographic -no-reboot -monitor none -serial stdio -nic none \
  -kernel "$vmlinuz" -initrd "$stage/initrd.cpio" \
  -append "console=ttyS0 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 quiet loglevel=3" \
  </dev/null | tee "$out"
qrc=${PIPESTATUS[0]}
set -e
rc="$(grep -a -o 'WARREN_VM_RC=[0-9]*' "$out" | tail -1 | cut -d= -f2 || true)"
if [ -z "$rc" ]; then
  echo "vm: the guest did not report a result (qemu exit $qrc)"
  exit 1
fi
echo "vm: guest result $rc"
exit "$rc"
