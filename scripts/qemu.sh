#!/usr/bin/env bash
# qemu.sh boots a mirago bare-metal image under QEMU (ARM, TCG).
#
#   scripts/qemu.sh IMAGE [-board qemu-virt|usbarmory] [-m SIZE] [-fwd [udp:]HOSTPORT:GUESTPORT ...] [-tap NAME] [-no-semihosting] [-- QEMU ARGS...]
#
# Networking is QEMU user networking (no root; the guest is 10.0.2.15/24,
# the gateway 10.0.2.2), with each -fwd forwarding 127.0.0.1:HOSTPORT to the
# guest's GUESTPORT over TCP (over UDP with a udp: prefix); or, with -tap,
# an existing TAP interface. The console is this terminal. QEMU runs with
# -semihosting, so an image that calls the board's Exit ends QEMU, and this
# script, with its status.
# Semihosting also lets the guest open host files: for a long-running
# appliance facing untrusted traffic, pass -no-semihosting (Exit then halts
# the guest instead).
# -m is the guest RAM (QEMU's -m): by default 32M on qemu-virt, the least
# its images are laid out for (they take the size from the device tree at
# boot and use whatever is given), and 512M on usbarmory, the board's RAM,
# which tamago's mk2 board assumes.
# Environment: QEMU (default qemu-system-arm), QEMU_MEM (the -m default).
set -euo pipefail

usage() {
	sed -n '4p' "$0" | sed 's/^#   /usage: /' >&2
	exit 2
}

[ $# -ge 1 ] || usage
image=$1
shift
board=qemu-virt
tap=
mem=${QEMU_MEM:-}
semihosting=(-semihosting)
fwds=()
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	-board) [ $# -ge 2 ] || usage; board=$2; shift 2 ;;
	-m) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
	-fwd) [ $# -ge 2 ] || usage; fwds+=("$2"); shift 2 ;;
	-tap) [ $# -ge 2 ] || usage; tap=$2; shift 2 ;;
	-no-semihosting) semihosting=(); shift ;;
	--) shift; extra=("$@"); break ;;
	-h | -help | --help) usage ;;
	*) echo "qemu.sh: unknown argument: $1" >&2; usage ;;
	esac
done

qemu=${QEMU:-qemu-system-arm}
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "qemu.sh: $qemu not found in PATH; install it with: apt-get install qemu-system-arm (Debian/Ubuntu)" >&2
	exit 127
fi
if [ ! -f "$image" ]; then
	echo "qemu.sh: image $image not found (build it with: make image APP=echo BOARD=$board)" >&2
	exit 2
fi

if [ -n "$tap" ]; then
	[ ${#fwds[@]} -eq 0 ] || { echo "qemu.sh: -fwd works with user networking only, not with -tap" >&2; exit 2; }
	netdev="tap,id=n0,ifname=$tap,script=no,downscript=no,vnet_hdr=on"
	reach="guest on TAP $tap: give the host side an address in the guest's subnet (e.g. ip addr add 10.0.2.2/24 dev $tap; ip link set $tap up), then use the guest's address (default 10.0.2.15)"
else
	netdev="user,id=n0"
	reach="guest 10.0.2.15 on QEMU user networking (gateway 10.0.2.2)"
	for f in "${fwds[@]}"; do
		proto=tcp
		case $f in udp:*) proto=udp; f=${f#udp:} ;; tcp:*) f=${f#tcp:} ;; esac
		case $f in
		*[!0-9:]* | :* | *: | *:*:*) echo "qemu.sh: bad -fwd $f (want HOSTPORT:GUESTPORT)" >&2; exit 2 ;;
		*:*) ;;
		*) echo "qemu.sh: bad -fwd $f (want HOSTPORT:GUESTPORT)" >&2; exit 2 ;;
		esac
		netdev+=",hostfwd=$proto:127.0.0.1:${f%%:*}-10.0.2.15:${f##*:}"
		if [ "$proto" = udp ]; then
			reach+="; udp 127.0.0.1:${f%%:*} -> guest port ${f##*:} (e.g. nc -u 127.0.0.1 ${f%%:*})"
		else
			reach+="; 127.0.0.1:${f%%:*} -> guest port ${f##*:} (e.g. nc 127.0.0.1 ${f%%:*})"
		fi
	done
fi

if [ -z "$mem" ]; then
	case $board in usbarmory) mem=512M ;; *) mem=32M ;; esac
fi
common=(-m "$mem" -nographic -monitor none "${semihosting[@]}" -kernel "$image")
case $board in
qemu-virt)
	# secure=on: tamago starts in the Secure world (arm.CPU.Init writes
	# MVBAR). virtualization=on: QEMU's Cortex-A15 only decodes the banked
	# MRS that tamago's exception entry uses (mrs sp, SP_usr) when EL2
	# exists; without it any exception (a nil dereference, an SVC) loops on
	# Undefined Instruction, silently, at 100% CPU.
	args=(-machine virt,secure=on,virtualization=on -cpu cortex-a15 "${common[@]}" -serial stdio
		-global virtio-mmio.force-legacy=false
		-device virtio-rng-device
		-device virtio-net-device,netdev=n0 -netdev "$netdev")
	;;
usbarmory)
	args=(-machine mcimx6ul-evk -cpu cortex-a7 "${common[@]}" -serial null -serial stdio
		-net nic,model=imx.enet,netdev=n0 -netdev "$netdev")
	;;
*) echo "qemu.sh: unknown board $board (qemu-virt or usbarmory)" >&2; exit 2 ;;
esac

echo "qemu.sh: booting $image on $board: $reach" >&2
echo "qemu.sh: stop with Ctrl-C (or kill $$)" >&2
exec "$qemu" "${args[@]}" "${extra[@]}"
