package ndp

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// Input handles one ND message (ICMPv6 types 133-137) whose ICMPv6
// checksum held: m is the message, type first; src and dst the IPv6
// addresses, hopLimit the packet's hop limit, fragmented whether it
// carried a Fragment header. Every message must come with hop limit 255
// (RFC 4861 §6.1, §7.1, §8.1: it was not forwarded) and unfragmented
// (RFC 6980 §5); each is checked as its section asks and what fails is
// dropped and counted by reason.
func (l *Layer) Input(src, dst inet.Addr, hopLimit uint8, fragmented bool, m []byte) {
	l.stats.Received++
	switch {
	case len(m) < 1:
		l.stats.DropShort++
		return
	case fragmented:
		l.stats.DropFragmented++
		return
	case hopLimit != ndHopLimit:
		l.stats.DropHopLimit++
		return
	}
	switch m[0] {
	case TypeNeighborSolicit:
		l.inputNS(src, dst, m)
	case TypeNeighborAdvert:
		l.inputNA(dst, m)
	case TypeRouterAdvert:
		l.inputRA(src, m)
	case TypeRedirect:
		l.inputRedirect(src, m)
	case TypeRouterSolicit:
		// Hosts silently discard solicitations (RFC 4861 §6.2.6).
		if _, err := ParseRS(m); err != nil {
			l.countParse(err)
			return
		}
		l.stats.RSIgnored++
	default:
		l.stats.DropType++
	}
}

func (l *Layer) countParse(err error) {
	switch err {
	case ErrCode:
		l.stats.DropCode++
	case ErrOptionLen:
		l.stats.DropOptionLen++
	case ErrType:
		l.stats.DropType++
	default:
		l.stats.DropShort++
	}
}

// linkAddrOpt finds the option of type typ (source or target link-layer
// address) in o. bad is set when one is there but malformed, for which
// the message is dropped (as Linux does); the last one wins.
func linkAddrOpt(o Options, typ uint8) (mac inet.MAC, found, bad bool) {
	for len(o) > 0 {
		var op Option
		op, o = o.Next()
		if op.Type() != typ {
			continue
		}
		v, err := ParseLinkAddr(op)
		if err != nil {
			return inet.MAC{}, false, true
		}
		mac, found = v.MAC(), true
	}
	return mac, found, false
}

// nonceOpt returns the nonce of a Nonce option in o, or nil.
func nonceOpt(o Options) []byte {
	for len(o) > 0 {
		var op Option
		op, o = o.Next()
		if op.Type() == OptNonce {
			if v, err := ParseNonce(op); err == nil {
				return v.Nonce()
			}
		}
	}
	return nil
}

// inputNS handles a Neighbor Solicitation (RFC 4861 §7.1.1, §7.2.3,
// §7.2.4; RFC 4862 §5.4.3 for our tentative addresses).
func (l *Layer) inputNS(src, dst inet.Addr, m []byte) {
	ns, err := ParseNS(m)
	if err != nil {
		l.countParse(err)
		return
	}
	target := ns.Target()
	if target.IsMulticast() {
		l.stats.DropTarget++
		return
	}
	sll, hasSLL, bad := linkAddrOpt(ns.Options(), OptSourceLinkAddr)
	if bad {
		l.stats.DropOption++
		return
	}
	dad := src.IsUnspecified()
	if dad && (!dst.IsSolicitedNode() || hasSLL) {
		// §7.1.1: from :: only to a solicited-node group, and without a
		// source link-layer address.
		l.stats.DropSource++
		return
	}
	l.stats.NSReceived++
	k := l.addrs.find(target)
	if k < 0 {
		l.stats.NSNotForUs++
		return
	}
	a := &l.addrs.a[k]
	switch a.phase {
	case phaseWaiting, phaseTentative:
		if !dad {
			// Someone resolving an address that is not yet ours: ignore
			// (RFC 4862 §5.4.3).
			l.stats.NSNotForUs++
			return
		}
		if n := nonceOpt(ns.Options()); len(n) >= NonceLen && [NonceLen]byte(n) == a.nonce {
			// Our own probe, looped back (RFC 7527 §4.2).
			l.stats.DADLoopedBack++
			return
		}
		l.duplicate(k, inet.MAC{})
		return
	case phaseDuplicate, phaseRetry:
		l.stats.NSNotForUs++
		return
	}
	if dad {
		// Another node probes an address we use: tell all nodes it is
		// ours (§7.2.4), so its DAD fails.
		l.stats.Conflicts++
		if l.cfg.OnDuplicate != nil {
			l.cfg.OnDuplicate(target, inet.MAC{}, true)
		}
		l.advertise(target, inet.IPv6AllNodes, inet.MAC{}, false)
		return
	}
	if hasSLL {
		l.learn(src, sll, false)
	}
	l.advertise(target, src, sll, true)
}

// inputNA handles a Neighbor Advertisement (RFC 4861 §7.1.2, §7.2.5;
// RFC 4862 §5.4.4 for our addresses).
func (l *Layer) inputNA(dst inet.Addr, m []byte) {
	na, err := ParseNA(m)
	if err != nil {
		l.countParse(err)
		return
	}
	target := na.Target()
	if target.IsMulticast() {
		l.stats.DropTarget++
		return
	}
	if dst.IsMulticast() && na.Solicited() {
		l.stats.DropSolicited++
		return
	}
	tll, hasTLL, bad := linkAddrOpt(na.Options(), OptTargetLinkAddr)
	if bad {
		l.stats.DropOption++
		return
	}
	l.stats.NAReceived++
	if k := l.addrs.find(target); k >= 0 {
		a := &l.addrs.a[k]
		switch {
		case a.phase == phaseWaiting || a.phase == phaseTentative:
			l.duplicate(k, tll)
		case a.usable() && (!hasTLL || tll != l.mac):
			// Another node claims an address we use. We keep it (RFC
			// 4862 §5.4.4 leaves this to the node) and report it.
			l.stats.Conflicts++
			if l.cfg.OnDuplicate != nil {
				l.cfg.OnDuplicate(target, tll, true)
			}
		default:
			l.stats.NAIgnored++
		}
		return
	}
	i := l.cache.find(target)
	if i == none {
		// Nothing asked: an unsolicited advertisement creates no entry
		// (§7.2.5).
		l.stats.NAIgnored++
		return
	}
	l.advertised(i, tll, hasTLL, na.Solicited(), na.Override(), na.Router())
}

// inputRA handles a Router Advertisement (RFC 4861 §6.1.2, §6.3.4; RFC
// 4862 §5.5.3; RFC 8106 §5.3.1).
func (l *Layer) inputRA(src inet.Addr, m []byte) {
	ra, err := ParseRA(m)
	if err != nil {
		l.countParse(err)
		return
	}
	if !src.IsLinkLocalUnicast() {
		l.stats.DropSource++
		return
	}
	if l.cfg.DisableRouterDiscovery || l.addrs.find(src) >= 0 {
		l.stats.RAIgnored++
		return
	}
	l.stats.RAReceived++
	l.stopSolicit()
	if h := ra.CurHopLimit(); h != 0 {
		l.ip.SetHopLimitLocked(h)
	}
	l.managed, l.other = ra.Flags()&FlagManaged != 0, ra.Flags()&FlagOther != 0
	if ms := ra.ReachableTime(); ms != 0 {
		d := time.Duration(ms) * time.Millisecond
		if d < minReachable || d > maxReachable {
			l.stats.ParamClamped++
			d = min(max(d, minReachable), maxReachable)
		}
		if d != l.baseReachable {
			l.baseReachable = d
			l.reachable = l.randomReachable()
		}
	}
	if ms := ra.RetransTimer(); ms != 0 {
		d := time.Duration(ms) * time.Millisecond
		if d < minRetrans || d > maxRetrans {
			l.stats.ParamClamped++
			d = min(max(d, minRetrans), maxRetrans)
		}
		l.retrans = d
	}
	hasSLL := false
	for o := ra.Options(); len(o) > 0; {
		var op Option
		op, o = o.Next()
		switch op.Type() {
		case OptSourceLinkAddr:
			v, err := ParseLinkAddr(op)
			if err != nil {
				l.stats.DropOption++
				continue
			}
			hasSLL = true
			l.learn(src, v.MAC(), true)
		case OptMTU:
			v, err := ParseMTU(op)
			if err != nil {
				l.stats.DropOption++
				continue
			}
			l.setLinkMTU(v.MTU())
		case OptPrefixInfo:
			pi, err := ParsePrefixInfo(op)
			if err != nil {
				l.stats.DropOption++
				continue
			}
			l.updatePrefix(pi)
			l.autoconf(pi)
		case OptRDNSS:
			v, err := ParseRDNSS(op)
			if err != nil {
				l.stats.DropOption++
				continue
			}
			for j := range v.NumServers() {
				l.updateDNS(v.Server(j), v.Lifetime())
			}
		}
	}
	if !hasSLL {
		if i := l.cache.find(src); i != none {
			l.cache.ents[i].isRouter = true
		}
	}
	l.updateRouter(src, ra.RouterLifetime(), ra.Preference())
}

// setLinkMTU applies an MTU option (RFC 4861 §6.3.4): a value from 1280
// (RFC 8200 §5) to the device's MTU becomes the link MTU; others are
// ignored and counted.
func (l *Layer) setLinkMTU(mtu uint32) {
	dev := l.eth.MTU()
	if mtu < 1280 || mtu > uint32(dev) {
		l.stats.MTUIgnored++
		return
	}
	n := int(mtu)
	if n == dev {
		n = 0
	}
	if n == l.linkMTU {
		return
	}
	l.linkMTU = n
	l.ip.SetMTU(int(mtu))
	if l.cfg.OnMTU != nil {
		l.cfg.OnMTU(int(mtu))
	}
}

// inputRedirect handles a Redirect (RFC 4861 §8.1, §8.3): accepted only
// from the router we send dest's packets to now, for a unicast dest, to
// a link-local target (a better router) or to dest itself (it is a
// neighbor).
func (l *Layer) inputRedirect(src inet.Addr, m []byte) {
	rd, err := ParseRedirect(m)
	if err != nil {
		l.countParse(err)
		return
	}
	if !src.IsLinkLocalUnicast() {
		l.stats.DropSource++
		return
	}
	dest, target := rd.Dest(), rd.Target()
	if dest.IsMulticast() || !dest.Is6() || !(target.IsLinkLocalUnicast() || target == dest) {
		l.stats.DropTarget++
		return
	}
	tll, hasTLL, bad := linkAddrOpt(rd.Options(), OptTargetLinkAddr)
	if bad {
		l.stats.DropOption++
		return
	}
	if nh, err := l.nextHop(dest); err != nil || nh != src {
		l.stats.DropRedirectSource++
		return
	}
	l.stats.RedirectsReceived++
	l.setRedirect(dest, target, src)
	if hasTLL {
		l.learn(target, tll, target != dest)
	} else if target != dest {
		if i := l.cache.find(target); i != none {
			l.cache.ents[i].isRouter = true
		}
	}
}
