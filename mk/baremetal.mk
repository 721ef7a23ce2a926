# Bare-metal images built with the TamaGo toolchain. Included from the
# Makefile; also usable alone: make -f mk/baremetal.mk image APP=boottest
#
#   make image APP=echo|proxy|boottest BOARD=qemu-virt|usbarmory [DHCP=1] [NTP=SERVERS] [METRICS=PORT] [LOG=debug] [NOOFFLOAD=all]   # last line: the image path
#   make image APP=proxy CONFIG=proxy.toml [BOARD=...] [DHCP=1]   # the proxy's configuration file, linked in
#   make qemu  APP=... BOARD=... [FWD="8007:7 ..."] [TAP=tap0]        # build, then boot under scripts/qemu.sh
#   make toolchain [TAMAGO_SRC=tamago-go1.26.0.src.tar.xz]             # install the TamaGo toolchain (scripts/toolchain.sh)
#
# Network settings are linked into internal/buildcfg: IP, GW, IP6 (static
# IPv6 addresses, ADDR/LEN,...; IPv6 is on by default with a link-local
# address and SLAAC), SLAAC (0 turns it off), PORT,
# UPSTREAM, ALLOW, DHCP, NTP, METRICS, LOG, the console's level (debug
# adds the boot phases), and NOOFFLOAD, the virtio-net offloads qemu-virt
# leaves off (all, or some of csum, guest_csum, host_tso4, host_tso6,
# guest_tso4, guest_tso6, mrg_rxbuf, event_idx). The app is built with the build tag of
# its board (qemuvirt or usbarmory) so that it can pick its board glue by
# tag. Optional parts are linked only when asked for, as lwIP's
# compile-time options do: DHCP=1 adds the DHCP client (tag mirago_dhcp),
# NTP=SERVERS the SNTP client that sets the board's clock (tag mirago_ntp;
# SERVERS is a comma-separated list of IPv4 addresses, names with DHCP=1,
# and "dhcp" for the lease's option 42 servers),
# METRICS=PORT the Prometheus endpoint (tag mirago_metrics), and IPV6=0
# builds IPv6 out (tag mirago_noipv6: no ipv6, icmpv6, ndp or mld package
# linked; IPv6 is on by default); on qemu-virt
# PROF=1 adds the sampling profiler (tag mirago_prof, bench/cmd/armprof).
#
# CONFIG=FILE (APP=proxy) links a proxy configuration file (TOML, the
# format of the host's -config) into the image: app/proxy/cmd/proxyconf
# checks it (faults with their lines stop the build) and writes it as Go
# source, added to the build with go build -overlay, so the image has the
# settings but no TOML parser; the file's TLS listeners add the tag
# mirago_tls (crypto/tls is linked only then) and its [metrics] table
# mirago_metrics. PORT, UPSTREAM and ALLOW are then unused.
GO ?= go
# The repository root, whichever directory make runs in.
MIRAGO_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
APP ?= echo
BOARD ?= qemu-virt
OUT ?= $(CURDIR)/out
IP ?= 10.0.2.15/24
GW ?= 10.0.2.2
IP6 ?=
SLAAC ?=
IPV6 ?=
PORT ?= 7
UPSTREAM ?=
ALLOW ?=
DHCP ?=
NTP ?=
METRICS ?=
LOG ?=
CONFIG ?=
PROF ?=
NOOFFLOAD ?=
FWD ?=
TAP ?=

TAMAGO_CMD := github.com/usbarmory/tamago/cmd/tamago
# The tamago command runs the toolchain matching the tamago module version
# from the user cache dir (os.UserCacheDir, cmd/tamago goroot()).
TAMAGO_VERSION = $(patsubst v%,%,$(shell $(GO) list -m -f '{{.Version}}' github.com/usbarmory/tamago))
TAMAGO_ROOT = $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tamago-go/tamago-go$(TAMAGO_VERSION)
# Offline installs build the toolchain from a source tarball (git archive
# --prefix=tamago-go<version>/ of the tag), checked against this SHA-256.
TAMAGO_SRC ?=
TAMAGO_SRC_SHA256_1.26.0 := 789dcb61ea8234072720d97d197bb879dbf164ccc8f13011dd7705089919dd5f
TAMAGO_SRC_SHA256 = $(TAMAGO_SRC_SHA256_$(TAMAGO_VERSION))

# Per board: build tags and link address. qemu-virt: text at RAM base + 1 MiB
# + 4 KiB (the ELF headers take the page below), so
# that QEMU copies its device tree below the image, and the board's own
# cpuinit (tag linkcpuinit) sizes RAM from it (board/qemu-virt/layout.go).
# usbarmory: RAM base + 64 KiB (tamago's mk2).
BOARD_TAG = $(if $(filter qemu-virt,$(BOARD)),qemuvirt linkcpuinit,$(if $(filter usbarmory,$(BOARD)),usbarmory))
TEXT_START = $(if $(filter qemu-virt,$(BOARD)),0x40101000,0x80010000)
# APP=boottest is the board's boot test program under test/boot.
APP_PKG = $(if $(filter boottest,$(APP)),./test/boot/$(if $(filter qemu-virt,$(BOARD)),virtnet,enetnet),./app/$(APP))

comma := ,
empty :=
space := $(empty) $(empty)
BUILD_TAGS = $(subst $(space),$(comma),$(strip $(BOARD_TAG) $(if $(filter 0,$(IPV6)),mirago_noipv6) $(if $(DHCP),mirago_dhcp) $(if $(NTP),mirago_ntp) $(if $(METRICS),mirago_metrics) $(if $(PROF),mirago_prof)))

IMAGE = $(OUT)/$(APP)-$(BOARD).elf
BUILDCFG := github.com/mirago/mirago/internal/buildcfg
LDFLAGS = -T $(TEXT_START) -R 0x1000 \
	-X '$(BUILDCFG).IP=$(IP)' -X '$(BUILDCFG).GW=$(GW)' -X '$(BUILDCFG).IP6=$(IP6)' -X '$(BUILDCFG).SLAAC=$(SLAAC)' -X '$(BUILDCFG).PORT=$(PORT)' \
	-X '$(BUILDCFG).UPSTREAM=$(UPSTREAM)' -X '$(BUILDCFG).ALLOW=$(ALLOW)' -X '$(BUILDCFG).DHCP=$(DHCP)' \
	-X '$(BUILDCFG).METRICS=$(METRICS)' -X '$(BUILDCFG).NTP=$(NTP)' -X '$(BUILDCFG).NOOFFLOAD=$(NOOFFLOAD)' -X '$(BUILDCFG).LOG=$(LOG)'

.PHONY: image qemu toolchain tamago-check

## toolchain: make the TamaGo toolchain present in $(TAMAGO_ROOT): nothing
## if it is there; else built from TAMAGO_SRC (SHA-256 checked) if given;
## else fetched from GitHub by the tamago command, as it does online.
toolchain:
	@VERSION="$(TAMAGO_VERSION)" ROOT="$(TAMAGO_ROOT)" TAMAGO_SRC="$(TAMAGO_SRC)" \
		SHA256="$(TAMAGO_SRC_SHA256)" GO="$(GO)" "$(MIRAGO_ROOT)/scripts/toolchain.sh"

## tamago-check: fail with instructions unless the TamaGo toolchain is installed.
tamago-check:
	@root="$(TAMAGO_ROOT)"; \
	if [ ! -x "$$root/bin/go" ]; then \
		echo "TamaGo toolchain not found: $$root/bin/go is missing." >&2; \
		echo "Install tamago-go$(TAMAGO_VERSION) with: make toolchain (online: fetched from GitHub;" >&2; \
		echo "offline: make toolchain TAMAGO_SRC=/path/to/tamago-go$(TAMAGO_VERSION).src.tar.xz)" >&2; \
		exit 1; \
	fi

## image: build the bare-metal image for APP on BOARD; prints its path last.
## The toolchain is installed first if missing (make toolchain).
image: toolchain
	@[ -n "$(BOARD_TAG)" ] || { echo "BOARD must be qemu-virt or usbarmory, not \"$(BOARD)\"" >&2; exit 1; }
	@[ -d "$(APP_PKG)" ] || { echo "no such app: $(APP_PKG) (APP=echo|proxy|boottest)" >&2; exit 1; }
	@mkdir -p "$(OUT)"
	@tags="$(BUILD_TAGS)"; overlay=""; \
	if [ -n "$(CONFIG)" ]; then \
		[ "$(APP)" = proxy ] || { echo "CONFIG is for APP=proxy" >&2; exit 1; }; \
		$(GO) run ./app/proxy/cmd/proxyconf $(if $(DHCP),-dhcp) -go "$(OUT)/proxyconf-$(BOARD).go" \
			-overlay "$(OUT)/proxyconf-$(BOARD).json" "$(CONFIG)" || exit 1; \
		extra=$$($(GO) run ./app/proxy/cmd/proxyconf $(if $(DHCP),-dhcp) -tags "$(CONFIG)") || exit 1; \
		for t in $$extra; do case ",$$tags," in *",$$t,"*) ;; *) tags="$$tags,$$t";; esac; done; \
		overlay="-overlay=$(OUT)/proxyconf-$(BOARD).json"; \
	fi; \
	tamago=$$($(GO) tool -n $(TAMAGO_CMD)) || { echo "go tool -n $(TAMAGO_CMD) failed: is the tool line in go.mod?" >&2; exit 1; }; \
	echo "building $(APP_PKG) for $(BOARD) with $$tamago (tamago-go$(TAMAGO_VERSION)), tags $$tags" >&2; \
	GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=arm GOARM=7 \
		"$$tamago" build -tags $$tags $$overlay -trimpath -ldflags "$(LDFLAGS)" -o "$(IMAGE)" "$(APP_PKG)"
	@echo "$(IMAGE)"

## qemu: build the image, then boot it under QEMU (scripts/qemu.sh).
qemu: image
	scripts/qemu.sh "$(IMAGE)" -board $(BOARD) $(foreach f,$(FWD),-fwd $(f)) $(if $(TAP),-tap $(TAP))
