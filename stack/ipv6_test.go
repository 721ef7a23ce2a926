package stack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/ndp"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

// pair6 is two stacks on a switch (each port through wrap, if set) with
// IPv6 addresses: link-local and global, EUI-64.
func pair6(t *testing.T, wrap func(inet.MAC, netif.Device) netif.Device) (a, b *stack.Stack, aLL, aG, bLL, bG inet.Addr) {
	a, b = stacktest.PairWith(t, wrap)
	aLL, aG = stacktest.Address6(t, a)
	bLL, bG = stacktest.Address6(t, b)
	return
}

func TestPing6(t *testing.T) {
	a, b, aLL, aG, bLL, bG := pair6(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		from *stack.Stack
		to   inet.Addr
	}{{a, bLL}, {a, bG}, {b, aLL}, {b, aG}, {a, inet.IPv6AllNodes}} {
		if _, err := c.from.Ping(ctx, c.to, []byte("ping over IPv6")); err != nil {
			t.Fatalf("ping %v: %v", c.to, err)
		}
	}
	st := b.Stats()
	if st.ICMPv6.EchoRequestsIn != 3 || st.ICMPv6.EchoRepliesOut != 3 {
		t.Errorf("b's ICMPv6: %+v", st.ICMPv6)
	}
	// A big ping goes out in fragments and comes back in fragments.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	if _, err := a.Ping(ctx, bG, big); err != nil {
		t.Fatalf("16000-byte ping: %v (a %+v, b %+v)", err, a.Stats().IPv6, b.Stats().IPv6)
	}
	if sa, sb := a.Stats().IPv6, b.Stats().IPv6; sa.FragmentedSent != 1 || sb.Reassembled != 1 || sb.FragmentedSent != 1 || sa.Reassembled != 1 {
		t.Errorf("fragments: a %+v\nb %+v", sa, sb)
	}
}

// TestUDP6Fragmented sends a 20 KB UDP datagram each way over IPv6,
// with and without faults on the link (the datagram is resent until one
// copy arrives whole).
func TestUDP6Fragmented(t *testing.T) {
	for _, spec := range []string{"", "loss=0.05,reorder=0.2,dup=0.05,seed=3"} {
		t.Run("impair="+spec, func(t *testing.T) {
			wrap := func(mac inet.MAC, d netif.Device) netif.Device { return stacktest.Impair(t, d, spec, 0) }
			a, b, _, aG, _, bG := pair6(t, wrap)
			msg := make([]byte, 20000)
			stacktest.Stream(7, int64(len(msg))).Read(msg)
			for _, dir := range []struct {
				from, to *stack.Stack
				dst      inet.Addr
			}{{a, b, bG}, {b, a, aG}} {
				rx, err := dir.to.UDP().Bind(netip.AddrPortFrom(netip.IPv6Unspecified(), 9000))
				if err != nil {
					t.Fatal(err)
				}
				tx, err := dir.from.UDP().Dial(dir.dst.AddrPort(9000))
				if err != nil {
					t.Fatal(err)
				}
				got := make(chan []byte, 1)
				go func() {
					buf := make([]byte, 65536)
					rx.SetReadDeadline(time.Now().Add(20 * time.Second))
					n, _, err := rx.ReadFrom(buf)
					if err != nil {
						got <- nil
						return
					}
					got <- buf[:n]
				}()
				var g []byte
			send:
				for range 50 {
					if _, err := tx.Write(msg); err != nil {
						t.Fatal(err)
					}
					select {
					case g = <-got:
						break send
					case <-time.After(200 * time.Millisecond):
					}
				}
				if !bytes.Equal(g, msg) {
					t.Fatalf("to %v: got %d bytes, want the 20000 sent (from %+v, to %+v)", dir.dst, len(g), dir.from.Stats().IPv6, dir.to.Stats().IPv6)
				}
				tx.Close()
				rx.Close()
			}
		})
	}
}

// pmtuRouter is a port behind a router whose next link has a smaller
// MTU: IPv6 packets larger than mtu (0: none) are dropped and answered
// with a Packet Too Big from the router's address, as RFC 8201 §4
// describes. The answer is handed to the stack from another goroutine
// (Transmit runs with the stack lock held).
type pmtuRouter struct {
	netif.Device
	mu   sync.Mutex
	h    netif.Handler
	mtu  int
	ptbs int
}

var routerAddr = inet.MustParseAddr("fd00:6::1")

func (p *pmtuRouter) SetHandler(h netif.Handler) {
	p.mu.Lock()
	p.h = h
	p.mu.Unlock()
	p.Device.SetHandler(h)
}

func (p *pmtuRouter) setMTU(mtu int) {
	p.mu.Lock()
	p.mtu = mtu
	p.mu.Unlock()
}

func (p *pmtuRouter) inject(f []byte) {
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	h(f, netif.RxMeta{})
}

func (p *pmtuRouter) Transmit(b *pkt.Buf) error {
	p.mu.Lock()
	mtu := p.mtu
	p.mu.Unlock()
	if mtu == 0 || b.Len() <= 14+mtu {
		return p.Device.Transmit(b)
	}
	f := make([]byte, b.Len())
	b.CopyTo(f)
	fr, err := ethernet.ParseFrame(f)
	if err != nil || fr.Type() != inet.EtherTypeIPv6 {
		return p.Device.Transmit(b)
	}
	h, _ := ipv6.ParseHeader(fr.Payload())
	ptb := ptbFrame(fr.Src(), routerAddr, h.Src(), uint32(mtu), h)
	p.mu.Lock()
	p.ptbs++
	p.mu.Unlock()
	go p.inject(ptb)
	return nil
}

// ptbFrame is a Packet Too Big from router to dst (at mac), quoting
// quoted, as a router on the path would send it.
func ptbFrame(mac inet.MAC, router, dst inet.Addr, mtu uint32, quoted []byte) []byte {
	m := make([]byte, 8+min(len(quoted), 1232))
	(&icmpv6.Fields{Type: icmpv6.TypePacketTooBig, Rest: mtu, Body: quoted[:len(m)-8]}).Encode(m)
	icmpv6.SetChecksum(m, router, dst, 0, 0)
	f := make([]byte, 14+40+len(m))
	(&ethernet.Fields{Dst: mac, Src: inet.MAC{2, 0, 0, 0, 0, 0x99}, Type: inet.EtherTypeIPv6}).Encode(f)
	(&ipv6.Fields{PayloadLen: uint16(len(m)), NextHeader: inet.ProtoICMPv6, HopLimit: 64, Src: router, Dst: dst}).Encode(f[14:])
	copy(f[54:], m)
	return f
}

// TestTCP6PacketTooBig: a TCP connection over IPv6 sends full-sized
// segments; when a router on the path drops them with a Packet Too Big,
// the connection lowers its MSS, the path MTU cache keeps the MTU, and the
// stream goes on intact in smaller segments (RFC 8201). A Packet Too Big
// under 1280 is ignored. SetMTU6 lowers the MSS new connections offer.
func TestTCP6PacketTooBig(t *testing.T) {
	var rec *stacktest.RecordingPort
	var rt *pmtuRouter
	a, b, _, aG, _, bG := pair6(t, func(mac inet.MAC, d netif.Device) netif.Device {
		if mac[5] != 1 {
			return d
		}
		rt = &pmtuRouter{Device: d}
		rec = stacktest.NewRecordingPort(rt)
		return rec
	})
	pathMTU := func() int {
		a.Locker().Lock()
		defer a.Locker().Unlock()
		return a.LayersLocked().IPv6.MTU(bG)
	}
	ln, err := b.TCP().Listen(5001)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				d, _ := io.ReadAll(c)
				c.Close()
				got <- d
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a.TCP().Dial(ctx, bG.AddrPort(5001))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 600<<10)
	stacktest.Stream(11, int64(len(data))).Read(data)
	largest := func(out []stacktest.SentIP) (n, syns, mss int) {
		for _, o := range out {
			if o.V6 && o.Proto == inet.ProtoTCP {
				n = max(n, o.TotalLen)
				if o.SYN {
					syns++
					mss = o.MSS
				}
			}
		}
		return
	}
	if _, err := c.Write(data[:200<<10]); err != nil {
		t.Fatal(err)
	}
	if n, syns, mss := largest(rec.Take()); n != 1500 || syns != 1 || mss != 1440 {
		t.Fatalf("before the PTB: largest IPv6 TCP packet %d bytes (want 1500), SYN MSS %d (want 1440)", n, mss)
	}
	rt.setMTU(1280)
	if _, err := c.Write(data[200<<10:]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case d := <-got:
		if !bytes.Equal(d, data) {
			t.Fatalf("B read %d bytes, not the %d sent", len(d), len(data))
		}
	case <-ctx.Done():
		t.Fatalf("stream stalled: a %+v\nicmpv6 %+v", a.Stats().IPv6, a.Stats().ICMPv6)
	}
	out := rec.Take()
	// Past the first (dropped) segments, none is larger than 1280.
	over := 0
	for _, o := range out {
		if o.V6 && o.TotalLen > 1280 {
			over++
		}
	}
	st := a.Stats()
	if over > 64 || over >= len(out)/2 || rt.ptbs != over || st.IPv6.PMTUUpdates != 1 || pathMTU() != 1280 || st.ICMPv6.ErrorsIn[icmpv6.TypePacketTooBig] != uint64(rt.ptbs) {
		t.Errorf("%d of %d packets over 1280, %d PTBs; ipv6 %+v", over, len(out), rt.ptbs, st.IPv6)
	}
	// A Packet Too Big under 1280 changes nothing (RFC 8201 §4).
	quoted := make([]byte, 1280)
	(&ipv6.Fields{PayloadLen: 1240, NextHeader: inet.ProtoTCP, HopLimit: 64, Src: aG, Dst: bG}).Encode(quoted)
	rt.inject(ptbFrame(a.Device().MAC(), routerAddr, aG, 1000, quoted))
	if st := a.Stats(); st.ICMPv6.DropPTBTooSmall != 1 || pathMTU() != 1280 {
		t.Errorf("PTB 1000: %+v", st.ICMPv6)
	}
	// A lower link MTU: new connections offer a smaller MSS.
	rt.setMTU(0)
	if err := a.SetMTU6(1400); err != nil || a.SetMTU6(1200) == nil {
		t.Fatalf("SetMTU6: %v", err)
	}
	c2, err := a.TCP().Dial(ctx, bG.AddrPort(5001))
	if err != nil {
		t.Fatal(err)
	}
	c2.Write(data[:10000])
	c2.Close()
	<-got
	if _, syns, mss := largest(rec.Take()); syns != 1 || mss != 1340 {
		t.Errorf("SYN MSS %d after SetMTU6(1400), want 1340", mss)
	}
}

// TestDisableIPv6: a stack built without IPv6 counts IPv6 frames as an
// unknown EtherType, refuses IPv6 destinations with ErrAddrFamily, and
// still speaks IPv4.
func TestDisableIPv6(t *testing.T) {
	var rt *pmtuRouter
	a, b := stacktest.PairConfig(t, stack.Config{DisableIPv6: true}, func(mac inet.MAC, d netif.Device) netif.Device {
		if mac[5] != 2 {
			return d
		}
		rt = &pmtuRouter{Device: d}
		return rt
	})
	b.Locker().Lock()
	l := b.LayersLocked()
	b.Locker().Unlock()
	if l.IPv6 != nil || l.ICMPv6 != nil {
		t.Fatal("IPv6 layers built")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Ping(ctx, inet.MustParseAddr("fd00:6::1"), nil); err != transport.ErrAddrFamily {
		t.Errorf("Ping over IPv6: %v", err)
	}
	c, err := b.UDP().Dial(netip.MustParseAddrPort("[fd00:6::1]:9"))
	if err == nil {
		_, err = c.Write([]byte("x"))
		c.Close()
	}
	if !errors.Is(err, transport.ErrAddrFamily) {
		t.Errorf("UDP over IPv6: %v", err)
	}
	if err := b.SetMTU6(1280); err != transport.ErrAddrFamily {
		t.Errorf("SetMTU6: %v", err)
	}
	// An IPv6 echo request is an unknown EtherType; IPv4 still works.
	before := b.Stats().Ethernet.RxUnknownType
	rt.inject(ptbFrame(b.Device().MAC(), routerAddr, inet.MustParseAddr("fd00:6::2"), 1280, make([]byte, 48)))
	if got := b.Stats().Ethernet.RxUnknownType; got != before+1 {
		t.Errorf("IPv6 frame: RxUnknownType %d, want %d", got, before+1)
	}
	if _, err := a.Ping(ctx, inet.AddrFrom4(inet.MustParseAddr4("10.0.0.2")), []byte("v4")); err != nil {
		t.Errorf("IPv4 ping: %v", err)
	}
}

// TestPing6Impaired: pings over IPv6, small and 16000-byte (fragmented
// both ways), through a link that loses, reorders and duplicates frames:
// each ping is retried until a reply matches, and every reply that comes
// carries the data sent.
func TestPing6Impaired(t *testing.T) {
	spec := "loss=0.05,reorder=0.2,dup=0.05,seed=9"
	a, b, _, _, _, bG := pair6(t, func(mac inet.MAC, d netif.Device) netif.Device { return stacktest.Impair(t, d, spec, 0) })
	big := make([]byte, 16000)
	stacktest.Stream(5, int64(len(big))).Read(big)
	// Both ports are impaired, so a frame meets the faults twice: a
	// 16000-byte ping (12 fragments each way) gets through whole about
	// one try in ten (half the seeds failed ten tries, before ND too).
	const tries = 40
	for _, data := range [][]byte{[]byte("small"), big} {
		for i := range tries {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_, err := a.Ping(ctx, bG, data)
			cancel()
			if err == nil {
				break
			}
			if i == tries-1 {
				t.Fatalf("%d-byte ping: no reply in %d tries (a %+v, b %+v)", len(data), tries, a.Stats().IPv6, b.Stats().IPv6)
			}
		}
	}
	if st := b.Stats().IPv6; st.Reassembled == 0 || st.FragmentedSent == 0 {
		t.Errorf("b: %+v", st)
	}
}

// TestRAMTUOption: a router advertisement's MTU option (RFC 4861 §6.3.4)
// lowers the IPv6 link MTU, and TCP offers new connections an MSS that
// fits it (the ndp -> Stack.SetMTU6 path).
func TestRAMTUOption(t *testing.T) {
	var rec *stacktest.RecordingPort
	var rt *pmtuRouter
	a, b, _, _, _, bG := pair6(t, func(mac inet.MAC, d netif.Device) netif.Device {
		if mac[5] != 1 {
			return d
		}
		rt = &pmtuRouter{Device: d}
		rec = stacktest.NewRecordingPort(rt)
		return rec
	})
	opt := make([]byte, 8)
	(&ndp.MTUFields{MTU: 1400}).Encode(opt)
	ra := make([]byte, 16+len(opt))
	(&ndp.RAFields{CurHopLimit: 64, RouterLifetime: 1800, Options: opt}).Encode(ra)
	router := inet.MustParseAddr("fe80::99")
	icmpv6.SetChecksum(ra, router, inet.IPv6AllNodes, 0, 0)
	f := make([]byte, 14+40+len(ra))
	(&ethernet.Fields{Dst: inet.MulticastMAC(inet.IPv6AllNodes), Src: inet.MAC{2, 0, 0, 0, 0, 0x99}, Type: inet.EtherTypeIPv6}).Encode(f)
	(&ipv6.Fields{PayloadLen: uint16(len(ra)), NextHeader: inet.ProtoICMPv6, HopLimit: 255, Src: router, Dst: inet.IPv6AllNodes}).Encode(f[14:])
	copy(f[54:], ra)
	rt.inject(f)
	a.Locker().Lock()
	mtu := a.LayersLocked().IPv6.LinkMTU()
	a.Locker().Unlock()
	if mtu != 1400 {
		t.Fatalf("link MTU %d after an RA with MTU 1400", mtu)
	}
	ln, err := b.TCP().Listen(5002)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec.Take()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.TCP().Dial(ctx, bG.AddrPort(5002))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	syns := 0
	for _, o := range rec.Take() {
		if o.V6 && o.SYN {
			syns++
			if o.MSS != 1340 {
				t.Errorf("SYN MSS %d, want 1340", o.MSS)
			}
		}
	}
	if syns != 1 {
		t.Errorf("%d SYNs sent", syns)
	}
}
