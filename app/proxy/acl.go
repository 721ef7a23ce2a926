package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseAllow parses a comma-separated list of IPv4 CIDRs (a bare address
// means /32) given as the setting called name (e.g. "-allow"). The empty
// string gives nil: only our own subnet is allowed.
func ParseAllow(name, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("bad %s entry %q: want an IPv4 CIDR such as 10.0.2.0/24", name, f)
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("bad %s entry %q: not IPv4", name, f)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("bad %s %q: no CIDR in the list", name, s)
	}
	return out, nil
}

// allowed reports whether a client address is in acl; an empty acl means
// the subnet own (our own), so the proxy is never open by default.
func allowed(acl []netip.Prefix, own netip.Prefix, client netip.Addr) bool {
	client = client.Unmap()
	if len(acl) == 0 {
		return own.IsValid() && own.Bits() > 0 && own.Contains(client)
	}
	for _, p := range acl {
		if p.Contains(client) {
			return true
		}
	}
	return false
}
