package main

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mirago/mirago/app/proxy/config"
	"github.com/mirago/mirago/stack"
)

// ParseAllow parses a comma-separated list of IPv4 and IPv6 CIDRs (a
// bare address means that address alone) given as the setting called
// name (e.g. "-allow"). The empty string gives nil: only our own
// prefixes are allowed.
func ParseAllow(name, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := config.ParsePrefix(f)
		if err != nil {
			return nil, errors.New("bad " + name + " entry " + strconv.Quote(f) + ": want a CIDR such as 10.0.2.0/24 or 2001:db8::/64")
		}
		out = append(out, p)
	}
	if len(out) == 0 && strings.TrimSpace(s) != "" {
		return nil, errors.New("bad " + name + " " + strconv.Quote(s) + ": no CIDR in the list")
	}
	return out, nil
}

// ownNets are our own prefixes, the default of every allow list: the
// IPv4 subnet and the prefix of each IPv6 address that is not tentative
// (link-local included: those clients are on our link;
// stack.OwnPrefixesLocked). A value, so the SYN-time filter allocates
// nothing.
type ownNets struct {
	n int
	p [stack.MaxOwnPrefixes]netip.Prefix
}

// ownLocked returns our prefixes; the stack lock is held.
func (a *Appliance) ownLocked() ownNets {
	var o ownNets
	o.n = len(a.s.OwnPrefixesLocked(o.p[:0]))
	return o
}

// ownOf returns the prefixes ps as ownNets, leaving out invalid and
// /0 ones (an unaddressed family allows nobody).
func ownOf(ps ...netip.Prefix) ownNets {
	var o ownNets
	for _, p := range ps {
		if p.IsValid() && p.Bits() > 0 && o.n < len(o.p) {
			o.p[o.n] = p.Masked()
			o.n++
		}
	}
	return o
}

// own is ownLocked taking the stack lock.
func (a *Appliance) own() ownNets {
	a.s.Locker().Lock()
	defer a.s.Locker().Unlock()
	return a.ownLocked()
}

// contains reports whether one of our prefixes holds client.
func (o *ownNets) contains(client netip.Addr) bool {
	for _, p := range o.p[:o.n] {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// allowed reports whether a client address is in acl; an empty acl means
// our own prefixes (own), so the proxy is never open by default.
func allowed(acl []netip.Prefix, own *ownNets, client netip.Addr) bool {
	client = client.Unmap().WithZone("")
	if len(acl) == 0 {
		return own.contains(client)
	}
	for _, p := range acl {
		if p.Contains(client) {
			return true
		}
	}
	return false
}
