// Package boardrun is the bare-metal glue shared by the apps' TamaGo mains
// (app/*/main_tamago.go): it opens the board picked by build tag (qemuvirt:
// board/qemu-virt, usbarmory: board/usbarmory; mk/baremetal.mk sets it),
// turns the network settings of internal/buildcfg (IP, GW, DHCP) into a
// running stack, and logs to the console. The apps parse their own
// settings (PORT, UPSTREAM, ALLOW) with their ConfigFromBuild.
//
// Only the settings parser builds on the host (and is tested there); the
// rest needs GOOS=tamago and exactly one board tag.
package boardrun

import (
	"errors"
	"strconv"
	"strings"

	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// Settings are internal/buildcfg's network settings, checked.
type Settings struct {
	// Stack has Addr and Gateway from IP and GW; both are zero with DHCP
	// until a lease is applied.
	Stack stack.Config
	// DHCP asks for the address by DHCP (buildcfg.DHCP non-empty).
	DHCP bool
}

// Load parses the network settings linked into internal/buildcfg.
func Load() (Settings, error) {
	s, err := Parse(buildcfg.IP, buildcfg.GW, buildcfg.DHCP)
	if err != nil {
		return s, err
	}
	return s, ParseIPv6(&s, buildcfg.IP6, buildcfg.SLAAC)
}

// ParseIPv6 checks the IPv6 settings, buildcfg's IP6 (static addresses,
// buildcfg.ParseIP6) and SLAAC ("0", "off" or "false" turn it off), into
// s's stack configuration.
func ParseIPv6(s *Settings, ip6, slaac string) error {
	addrs, err := buildcfg.ParseIP6(ip6)
	if err != nil {
		return errors.New("bad IP6: " + err.Error())
	}
	if len(addrs) > 0 && !ipv6Built {
		return errors.New("bad IP6: IPv6 is not built into this image (IPV6=0)")
	}
	s.Stack.Addrs6 = addrs
	switch strings.ToLower(strings.TrimSpace(slaac)) {
	case "0", "off", "false", "no":
		s.Stack.ND.DisableSLAAC = true
	}
	return nil
}

// Parse checks the settings given as buildcfg's strings: ip is a CIDR
// with a usable host address, gw an address on its subnet (or empty for
// on-link only). With dhcp non-empty, ip and gw are ignored.
func Parse(ip, gw, dhcp string) (Settings, error) {
	var s Settings
	if s.DHCP = strings.TrimSpace(dhcp) != ""; s.DHCP {
		return s, nil
	}
	p, err := inet.ParsePrefix4(ip)
	if err != nil {
		return s, errors.New("bad IP " + strconv.Quote(ip) + ": want an IPv4 CIDR such as 10.0.2.15/24")
	}
	if p.Bits < 1 || p.Bits > 32 || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.IsBroadcast() || p.Addr.IsLoopback() {
		return s, errors.New("bad IP " + strconv.Quote(ip) + ": not a usable host address")
	}
	s.Stack.Addr = p
	if gw == "" {
		return s, nil
	}
	g, err := inet.ParseAddr4(gw)
	if err != nil {
		return s, errors.New("bad GW " + strconv.Quote(gw) + ": want an IPv4 address")
	}
	if !p.Contains(g) {
		return s, errors.New("bad GW " + gw + ": not on the subnet of IP " + ip)
	}
	s.Stack.Gateway = g
	return s, nil
}
