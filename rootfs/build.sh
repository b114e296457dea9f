#!/bin/sh
# Builds a minimal busybox-static root filesystem in this directory (the
# directory holding this script), next to the script itself: /bin with
# busybox and its applets, /etc with passwd, group and hostname, and the empty
# mount points a container needs. Idempotent; run by `make rootfs`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}

if ! [ -x "$busybox" ]; then
    echo "rootfs: $busybox not found; install busybox-static (make deps)" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "rootfs: $busybox is dynamically linked; install busybox-static (make deps)" >&2
    exit 1
fi

cd "$here"
mkdir -p bin sbin usr/bin usr/sbin etc root home tmp proc sys dev var/tmp run mnt
chmod 1777 tmp var/tmp
chmod 700 root
install -m 0755 "$busybox" bin/busybox
for applet in $(bin/busybox --list-full); do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$(dirname "$applet")"
    ln -sf /bin/busybox "$applet"
done
[ -e bin/sh ] || ln -sf /bin/busybox bin/sh

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo lcluster > etc/hostname
: > etc/resolv.conf
echo "rootfs: built in $here ($(bin/busybox --list | wc -l) applets)"
