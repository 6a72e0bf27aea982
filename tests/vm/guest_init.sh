#!/bin/sh
# Stage 1 (initramfs): pivot_root cannot leave an initramfs root, so copy
# everything into a tmpfs and switch_root into it, as a real host's root is.
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=80% tmpfs /newroot
for e in /*; do
  case "$e" in /proc|/sys|/dev|/newroot) ;; *) cp -a "$e" /newroot/ ;; esac
done
mkdir -p /newroot/proc /newroot/sys /newroot/dev
umount /proc
umount /dev
exec switch_root /newroot /stage2
