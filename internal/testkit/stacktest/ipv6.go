package stacktest

import (
	"testing"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
)

// GlobalPrefix6 is the prefix of the global IPv6 addresses Address6
// gives stacks (a unique local prefix, RFC 4193).
const GlobalPrefix6 = "fd00:6::"

// EUI64 returns the address made of the first 8 bytes of prefix and the
// modified EUI-64 interface identifier of mac (RFC 4291 §2.5.1 and
// appendix A).
func EUI64(prefix inet.Addr, mac inet.MAC) inet.Addr {
	b := prefix.As16()
	b[8], b[9], b[10], b[11] = mac[0]^2, mac[1], mac[2], 0xff
	b[12], b[13], b[14], b[15] = 0xfe, mac[3], mac[4], mac[5]
	return inet.AddrFrom16(b)
}

// Address6 gives s, without Duplicate Address Detection, a link-local
// address and a global one in GlobalPrefix6/64 (on-link), both with the
// EUI-64 interface identifier of its MAC, and returns them. The
// link-local one is the address s forms itself: it is assigned at once.
func Address6(t testing.TB, s *stack.Stack) (linkLocal, global inet.Addr) {
	t.Helper()
	return AddressOn6(t, s, inet.MustParseAddr(GlobalPrefix6))
}

// AddressOn6 is Address6 with the global address in prefix/64 (a TAP's,
// taptest.TAP.Prefix6).
func AddressOn6(t testing.TB, s *stack.Stack, prefix inet.Addr) (linkLocal, global inet.Addr) {
	t.Helper()
	mac := s.Device().MAC()
	linkLocal = EUI64(inet.MustParseAddr("fe80::"), mac)
	global = EUI64(prefix, mac)
	s.Locker().Lock()
	defer s.Locker().Unlock()
	for _, a := range []inet.Addr{linkLocal, global} {
		if err := s.LayersLocked().ND.AddStatic(inet.Prefix6{Addr: a, Bits: 64}, ndp.NoDAD); err != nil {
			t.Fatal(err)
		}
	}
	return linkLocal, global
}
