package netcfg_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/dns"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
)

// serveDNS6 answers AAAA queries for name with addr6 and A queries with
// addr4 (each a NODATA answer when zero), NXDOMAIN for other names.
func serveDNS6(c interface {
	ReadFromAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToAddrPort([]byte, netip.AddrPort) (int, error)
}, name string, addr4, addr6 netip.Addr) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			return
		}
		q, err := dns.ParseMessage(buf[:n])
		if err != nil || q.Response || len(q.Questions) != 1 {
			continue
		}
		qend := 12 + len(encodeName(q.Questions[0].Name)) + 4
		resp := append([]byte(nil), buf[:qend]...)
		resp[2] |= 0x80
		resp[3] = 0x80
		binary.BigEndian.PutUint16(resp[6:], 0)
		binary.BigEndian.PutUint16(resp[8:], 0)
		binary.BigEndian.PutUint16(resp[10:], 0)
		switch {
		case q.Questions[0].Name != name:
			resp[3] |= 3
		case q.Questions[0].Type == dns.TypeAAAA && addr6.IsValid():
			binary.BigEndian.PutUint16(resp[6:], 1)
			resp = append(resp, 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16)
			resp = append(resp, addr6.AsSlice()...)
		case q.Questions[0].Type == dns.TypeA && addr4.IsValid():
			binary.BigEndian.PutUint16(resp[6:], 1)
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			resp = append(resp, addr4.AsSlice()...)
		}
		c.WriteToAddrPort(resp, from)
	}
}

// A stack with only IPv6 addresses asks an IPv6 DNS server for AAAA
// records only, and resolves names to IPv6 addresses; once it has an
// IPv4 address too it asks for both and still prefers IPv6.
func TestResolverOverIPv6(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	mk := func(mac inet.MAC) *stack.Stack {
		s, err := stack.New(sw.NewPort(mac, 1500), stack.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	srv, cli := mk(inet.MAC{2, 0, 0, 0, 0, 1}), mk(inet.MAC{2, 0, 0, 0, 0, 2})
	if f := netcfg.Families(cli); f != 0 {
		t.Fatalf("families of a stack without addresses: %v", f)
	}
	stacktest.Address6(t, cli)
	_, srvG := stacktest.Address6(t, srv)
	if f := netcfg.Families(cli); f != dns.IPv6 {
		t.Fatalf("families with a global IPv6 address: %v, want IPv6", f)
	}
	c, err := srv.UDP().Bind(netip.AddrPortFrom(netip.IPv6Unspecified(), 53))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	want6 := netip.MustParseAddr("2001:db8::80")
	want4 := netip.MustParseAddr("192.0.2.80")
	go serveDNS6(c, "www.test", want4, want6)

	r := netcfg.NewResolver(cli, netcfg.StaticServers(srvG.AddrPort(53)))
	ctx := context.Background()
	ap, err := r.Resolve(ctx, "www.test:80")
	if err != nil || ap != netip.AddrPortFrom(want6, 80) {
		t.Fatalf("Resolve over IPv6: %v, %v", ap, err)
	}
	if got, err := r.LookupIP(ctx, "www.test", 0); err != nil || len(got) != 1 || got[0] != want6 {
		t.Fatalf("LookupIP with IPv6 only: %v, %v (the A records must not be asked for)", got, err)
	}
	if got, err := r.LookupA(ctx, "www.test"); err != nil || len(got) != 1 || got[0] != want4 {
		t.Fatalf("LookupA over IPv6: %v, %v", got, err)
	}
	cli.SetAddr(inet.Prefix4{Addr: inet.MustParseAddr4("10.0.0.2"), Bits: 24})
	if f := netcfg.Families(cli); f != dns.BothFamilies {
		t.Fatalf("families with both: %v", f)
	}
	if got, err := r.LookupIP(ctx, "www.test", 0); err != nil || len(got) != 2 || got[0] != want6 || got[1] != want4 {
		t.Fatalf("LookupIP with both families: %v, %v", got, err)
	}
}
