#!/usr/bin/env bash
# build.sh builds the Linux guest that `make bench` compares the mirago
# image with (bench/guest.go): a stock Debian armmp kernel for QEMU's
# ARM virt machine, and an initramfs with busybox, the kernel's virtio
# modules and a static TCP echo server (echo.c) on port 7. Everything
# comes from Debian packages; nothing is installed into the host root
# but the arm cross compiler.
#
#   bench/linuxguest/build.sh [OUTDIR]
#
# OUTDIR defaults to ${XDG_CACHE_HOME:-~/.cache}/mirago/linuxguest. A
# build whose inputs (package versions, echo.c, init, this script) have
# not changed is reused. The last line printed is OUTDIR, which then holds
# vmlinuz, initrd.gz and VERSION. When the packages cannot be had (no
# armhf architecture in apt and not root to add it, no network to
# Debian, no cross compiler) it says why on stderr and exits 3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mirago/linuxguest}

cannot() {
	echo "linuxguest: cannot be had: $*" >&2
	exit 3
}

for tool in apt-get apt-cache dpkg dpkg-deb cpio gzip sha256sum; do
	command -v "$tool" >/dev/null || cannot "$tool not found (a Debian host with apt and cpio is needed)"
done
root=0
[ "$(id -u)" = 0 ] && root=1

# The armhf architecture, for the kernel and busybox packages.
if ! dpkg --print-foreign-architectures | grep -qx armhf; then
	[ $root = 1 ] || cannot "the armhf architecture is not enabled in dpkg (as root: dpkg --add-architecture armhf && apt-get update)"
	dpkg --add-architecture armhf
	apt-get update -q >&2 || cannot "apt-get update failed"
fi
kpkg=$(apt-cache depends linux-image-armmp:armhf 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9.-]*-armmp\)\(:armhf\)\{0,1\}$/\1/p' | head -1)
if [ -z "$kpkg" ] && [ $root = 1 ]; then
	apt-get update -q >&2 || true
	kpkg=$(apt-cache depends linux-image-armmp:armhf 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9.-]*-armmp\)\(:armhf\)\{0,1\}$/\1/p' | head -1)
fi
[ -n "$kpkg" ] || cannot "apt knows no linux-image-armmp:armhf (apt-get update?)"
kver=$(apt-cache policy "$kpkg:armhf" | sed -n 's/^ *Candidate: //p')
bver=$(apt-cache policy busybox-static:armhf | sed -n 's/^ *Candidate: //p')
[ -n "$kver" ] && [ "$kver" != "(none)" ] && [ -n "$bver" ] && [ "$bver" != "(none)" ] ||
	cannot "no candidate for $kpkg:armhf or busybox-static:armhf"

# The cross compiler and C library for echo.c.
cc=arm-linux-gnueabihf-gcc
if ! command -v $cc >/dev/null || [ ! -d /usr/arm-linux-gnueabihf/include ]; then
	[ $root = 1 ] || cannot "$cc or its C library not found (apt-get install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc-arm-linux-gnueabihf libc6-dev-armhf-cross >&2 ||
		cannot "apt-get install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross failed"
fi

version="$kpkg $kver busybox-static $bver $(cat "$here/echo.c" "$here/init" "$0" | sha256sum | cut -c1-16)"
if [ -f "$out/VERSION" ] && [ "$(cat "$out/VERSION")" = "$version" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ]; then
	echo "linuxguest: up to date ($version)" >&2
	echo "$out"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "linuxguest: fetching $kpkg $kver and busybox-static $bver" >&2
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg:armhf=$kver" "busybox-static:armhf=$bver" >&2) ||
	cannot "apt-get download $kpkg busybox-static failed"
dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
modroot=$(echo "$work"/k/lib/modules/*)

# The modules the guest needs and what they depend on (the "depends="
# field of each module's .modinfo: the package ships no modules.dep,
# which depmod writes at install time), dependencies first.
objcopy=arm-linux-gnueabihf-objcopy
order=()
want() {
	local name=$1 f dep
	for done in "${order[@]}"; do [ "$(basename "$done" .ko)" = "$name" ] && return; done
	f=$(find "$modroot/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" | head -1)
	if [ -z "$f" ]; then
		grep -q "/$name.ko\$\|/${name//_/-}.ko\$" "$modroot/modules.builtin" && return # built in
		echo "linuxguest: module $name not in $kpkg" >&2
		exit 1
	fi
	for dep in $($objcopy -O binary --only-section=.modinfo "$f" /dev/stdout | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		want "$dep"
	done
	order+=("${f#"$modroot"/}")
}
for m in virtio_mmio virtio_net virtio-rng; do want "$m"; done

# The echo server, static.
$cc -O2 -static -pthread -o "$work/echo" "$here/echo.c"

# The initramfs.
r=$work/root
mkdir -p "$r/bin" "$r/lib/modules"
cp "$work/bb/bin/busybox" "$r/bin/busybox"
cp "$work/echo" "$r/echo"
install -m 755 "$here/init" "$r/init"
for m in "${order[@]}"; do
	cp "$modroot/$m" "$r/lib/modules/"
	basename "$m" >>"$r/lib/modules/load.order"
done
mkdir -p "$out"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$out/initrd.gz"
cp "$work"/k/boot/vmlinuz-* "$out/vmlinuz"
echo "$version" >"$out/VERSION"
echo "linuxguest: built $out: vmlinuz $(stat -c %s "$out/vmlinuz") bytes, initrd.gz $(stat -c %s "$out/initrd.gz") bytes, modules ${order[*]##*/}" >&2
echo "$out"
