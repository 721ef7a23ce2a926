// Package buildcfg holds the network settings baked into a bare-metal
// image at link time. `make image` sets them from the Makefile variables
// IP, GW, IP6, SLAAC, PORT, UPSTREAM, ALLOW, DHCP, NTP, METRICS, LOG and NOOFFLOAD with
// -ldflags "-X github.com/mirago/mirago/internal/buildcfg.NAME=value"
// (see mk/baremetal.mk). They are strings because -X sets strings only;
// apps parse them at start-up.
package buildcfg

import "errors"

// Link-time settings; the defaults suit QEMU user networking.
var (
	// IP is the appliance address and prefix (CIDR).
	IP = "10.0.2.15/24"
	// GW is the default gateway.
	GW = "10.0.2.2"
	// IP6 lists static IPv6 addresses, ADDR/LEN separated by commas
	// (ParseIP6); empty: none. IPv6 is on by default: a link-local
	// address is formed, and SLAAC addresses from router advertisements.
	IP6 = ""
	// SLAAC, when "0" (or "off", "false"), forms no IPv6 address from
	// router advertisements; anything else leaves SLAAC on.
	SLAAC = ""
	// PORT is the service port (echo) or listen port (proxy).
	PORT = "7"
	// UPSTREAM is the proxy's upstream HOST:PORT.
	UPSTREAM = ""
	// ALLOW is the proxy's comma-separated list of allowed client CIDRs.
	ALLOW = ""
	// DHCP, when non-empty, asks for the address by DHCP instead of IP.
	DHCP = ""
	// METRICS, when non-empty, is the TCP port of the Prometheus metrics
	// endpoint; the image must be built with the mirago_metrics tag (make
	// image METRICS=PORT does both).
	METRICS = ""
	// NTP, when non-empty, is the SNTP servers to set the clock from:
	// comma-separated IPv4 addresses or (with DHCP) names, each with an
	// optional :port, and "dhcp" for the lease's servers (option 42). The
	// image must be built with the mirago_ntp tag (make image NTP=...
	// does both).
	NTP = ""
	// LOG is the console's log level: debug, info (the default), warn
	// or error. At debug, images also log each boot phase and the
	// stack's memory limits.
	LOG = ""
	// NOOFFLOAD lists the virtio-net offloads not to negotiate on
	// qemu-virt (virtio.ParseOffloads: "all", or some of csum,
	// guest_csum, host_tso4, host_tso6, guest_tso4, guest_tso6,
	// mrg_rxbuf, event_idx); empty uses every one the device offers.
	NOOFFLOAD = ""
)

// ErrNoMetrics is the apps' answer to a metrics port in an image built
// without the endpoint (the mirago_metrics tag, which make image
// METRICS=PORT sets together with METRICS).
var ErrNoMetrics = errors.New("bad METRICS: the metrics endpoint is not built into this image (make image METRICS=PORT)")

// ErrNoNTP is the answer to NTP servers in an image built without the
// SNTP client (the mirago_ntp tag, which make image NTP=... sets).
var ErrNoNTP = errors.New("bad NTP: the SNTP client is not built into this image (make image NTP=SERVERS)")
