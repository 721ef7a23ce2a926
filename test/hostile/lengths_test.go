package hostile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
	"github.com/mirago/mirago/stack/udp"
)

// Case 1: lengths that disagree across layers (AMNESIA:33 / Ripple20
// class: a length field trusted before it is checked against the bytes
// received).

// expectSilent fails t if the victim sent anything but ARP since the last
// take: a malformed frame must be dropped without an answer.
func expectSilent(t *testing.T, v *victim, what string) {
	t.Helper()
	for _, o := range v.sent() {
		if o.arp == nil {
			t.Errorf("%s: victim answered a malformed frame: % x", what, o.raw)
		}
	}
}

func TestLengthsIPv4(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	echo := icmpb(8, 0, 0x12340001, []byte("ping"))
	cases := []struct {
		name string
		h    iph
		pay  []byte
		drop func(s stack.Stats) uint64
	}{
		{"ihl=0", iph{}, echo, nil},
		{"ihl=4", iph{ihl: 4}, echo, func(s stack.Stats) uint64 { return s.IP.DropIHL }},
		{"ihl=1", iph{ihl: 1}, echo, func(s stack.Stats) uint64 { return s.IP.DropIHL }},
		{"ihl*4>total", iph{ihl: 15, totLen: 28}, echo, nil},
		{"ihl*4>frame", iph{ihl: 15}, echo[:4], nil},
		{"total<20", iph{totLen: 19}, echo, nil},
		{"total=0", iph{}, echo, nil},
		{"total>frame", iph{totLen: 28 + 12 + 1}, echo, func(s stack.Stats) uint64 { return s.IP.DropLength }},
		{"total=65535", iph{totLen: 65535}, echo, func(s stack.Stats) uint64 { return s.IP.DropLength }},
		{"version=6", iph{version: 6}, echo, func(s stack.Stats) uint64 { return s.IP.DropVersion }},
		{"version=0", iph{version: 15}, echo, func(s stack.Stats) uint64 { return s.IP.DropVersion }},
		{"bad checksum", iph{badSum: true}, echo, func(s stack.Stats) uint64 { return s.IP.DropChecksum }},
	}
	for _, c := range cases {
		h := c.h
		h.src, h.dst, h.proto = peerIP, victimIP, 1
		d := ip(h, c.pay)
		switch c.name {
		case "ihl=0":
			d[0] &= 0xf0
			setIPTotal(d, len(d))
		case "total=0":
			setIPTotal(d, 0)
		}
		before := v.stats()
		f := ipFrame(peerIP, d)
		noPanic(t, c.name, f, func() { v.inject(f) })
		expectSilent(t, v, c.name)
		after := v.stats()
		if after.IP.Delivered != before.IP.Delivered {
			t.Errorf("%s: datagram delivered", c.name)
		}
		if c.drop != nil && c.drop(after) != c.drop(before)+1 {
			t.Errorf("%s: drop counter did not move", c.name)
		}
	}
	// Total length shorter than the frame: Ethernet padding is trimmed and
	// the echo reply carries exactly the original data.
	d := ip(iph{src: peerIP, dst: victimIP, proto: 1}, echo)
	v.inject(ipFrame(peerIP, append(d, make([]byte, 30)...)))
	var got []byte
	for _, o := range v.sent() {
		if o.icmp != nil && o.icmp.typ == 0 {
			got = o.icmp.body
		}
	}
	if string(got) != "ping" {
		t.Errorf("padded echo: reply data %q, want %q", got, "ping")
	}
	p.alive()
}

func TestLengthsTCPDataOffset(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	for _, doff := range []int{0, 1, 4, 6, 15} {
		for _, target := range []string{"listener", "established", "closed"} {
			s := seg{sport: 41000, dport: 80, seq: 1, flags: fSYN, win: 1000, doff: doff}
			switch target {
			case "established":
				s = seg{sport: p.port, dport: 80, seq: p.sndNxt, ack: p.rcvNxt, flags: fACK | fPSH, win: 1000, doff: doff, payload: []byte("x")}
			case "closed":
				s.dport = 81
			}
			before := v.stats().TCP.Drops[tcp.DropBadOffset]
			s.doff = 0
			b := setDataOffset(peerIP, victimIP, tcpb(peerIP, victimIP, s), doff)
			f := ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 6}, b))
			noPanic(t, "doff", f, func() { v.inject(f) })
			expectSilent(t, v, "data offset "+itoa(doff)+" to "+target)
			if v.stats().TCP.Drops[tcp.DropBadOffset] != before+1 {
				t.Errorf("doff %d to %s: not counted as bad offset", doff, target)
			}
		}
	}
	// Data offset 6 on a 20-byte segment points past the end: the
	// established connection must not take the segment.
	if st := v.stats().TCP.States[tcp.SynReceived]; st != 0 {
		t.Errorf("%d half-open connections from malformed SYNs", st)
	}
	p.alive()
}

func TestLengthsUDP(t *testing.T) {
	v := newVictim(t, stack.Config{})
	p := establish(v, v.listen(80), peerIP, 40000, false)
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, l := range []int{1, 7, 0xffff, 8 + 5, 8 + 100} {
		u := udpb(peerIP, victimIP, 5000, 53, []byte("abcd"), l)
		before := v.stats().UDP
		f := ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 17}, u))
		noPanic(t, "udp len", f, func() { v.inject(f) })
		expectSilent(t, v, "UDP length "+itoa(l))
		after := v.stats().UDP
		if after.InDatagrams != before.InDatagrams {
			t.Errorf("UDP length %d: delivered", l)
		}
		if after.DropShort+after.DropLength == before.DropShort+before.DropLength {
			t.Errorf("UDP length %d: not counted as a drop", l)
		}
	}
	// UDP length shorter than the IP payload: the extra bytes are not data.
	u := udpb(peerIP, victimIP, 5000, 53, []byte("abcdXXXX"), 12)
	v.inject(ipFrame(peerIP, ip(iph{src: peerIP, dst: victimIP, proto: 17}, u)))
	if got := udpRead(t, c); got != "abcd" {
		t.Errorf("UDP length 12 over 16 bytes: got %q, want %q", got, "abcd")
	}
	p.alive()
}

// udpRead reads one datagram with a real-time guard.
func udpRead(t testing.TB, c *udp.Conn) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		b := make([]byte, 2048)
		n, _, err := c.ReadFrom(b)
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		ch <- string(b[:n])
	}()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("UDP read did not return")
		return ""
	}
}

// validFrames returns one valid frame of every kind the victim handles,
// with a description: ARP request, ICMP echo, UDP to a bound port, SYN to
// the listener, and a data segment on the established connection p.
func validFrames(p *peer) map[string][]byte {
	return map[string][]byte{
		"arp":  eth(inet.BroadcastMAC, peerMAC, ethARP, arpb(1, peerMAC, peerIP, inet.MAC{}, victimIP)),
		"echo": icmpFrame(peerIP, victimIP, icmpb(8, 0, 0x77770001, []byte("0123456789"))),
		"udp":  udpFrame(peerIP, victimIP, 5000, 53, []byte("hello")),
		"syn":  tcpFrame(peerIP, seg{sport: 42000, dport: p.vport, seq: 99, flags: fSYN, win: 8192, opts: cat(optMSS(1400), optWS(7), optSACKOK(), optTS(1, 0))}),
		"data": p.frame(fACK|fPSH, []byte("DATA")),
	}
}

// TestLengthsTruncatedEverywhere cuts every valid frame at every byte:
// nothing may be answered (except an ARP request cut only in its padding)
// and nothing delivered; the established connection keeps working.
func TestLengthsTruncatedEverywhere(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for name, f := range validFrames(p) {
		for n := 0; n < len(f); n++ {
			before := v.stats()
			cut := append([]byte(nil), f[:n]...)
			noPanic(t, name+" cut", cut, func() { v.inject(cut) })
			for _, o := range v.sent() {
				if o.arp == nil || name == "arp" {
					t.Errorf("%s cut at %d: victim answered", name, n)
				}
			}
			after := v.stats()
			if after.IP.Delivered != before.IP.Delivered {
				t.Errorf("%s cut at %d: delivered", name, n)
			}
		}
	}
	if st := v.stats().TCP.States[tcp.SynReceived]; st != 0 {
		t.Errorf("%d half-open connections from truncated SYNs", st)
	}
	p.alive()
}

// TestLengthsPadded pads every valid frame with 0-64 bytes of garbage: it
// must be handled exactly as the unpadded frame.
func TestLengthsPadded(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	c, err := v.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for pad := 0; pad <= 64; pad++ {
		garbage := make([]byte, pad)
		for i := range garbage {
			garbage[i] = byte(0xa5 ^ i)
		}
		frames := validFrames(p)
		for _, name := range []string{"arp", "echo", "udp", "syn", "data"} {
			f := append(frames[name], garbage...)
			noPanic(t, name+" padded", f, func() { v.inject(f) })
			out := v.sent()
			switch name {
			case "arp":
				if len(out) != 1 || out[0].arp == nil || out[0].arp.op != 2 {
					t.Fatalf("pad %d: ARP request not answered once", pad)
				}
			case "echo":
				if len(out) != 1 || out[0].icmp == nil || string(out[0].icmp.body) != "0123456789" {
					t.Fatalf("pad %d: echo reply wrong: %v", pad, out)
				}
			case "udp":
				if got := udpRead(t, c); got != "hello" {
					t.Fatalf("pad %d: UDP payload %q", pad, got)
				}
			case "syn":
				ok := false
				for _, o := range out {
					if o.tcp != nil && o.tcp.flags == fSYN|fACK && o.tcp.ack == 100 {
						ok = true
					}
				}
				if !ok {
					t.Fatalf("pad %d: SYN not answered with SYN-ACK", pad)
				}
				v.inject(tcpFrame(peerIP, seg{sport: 42000, dport: 80, seq: 100, flags: fRST}))
			case "data":
				p.sndNxt += 4
				b, err := p.read(4)
				if err != nil || string(b) != "DATA" {
					t.Fatalf("pad %d: read %q, %v", pad, b, err)
				}
				p.absorb(segsOf(out))
			}
		}
	}
	p.alive()
}

func segsOf(out []*outFrame) []*outSeg {
	var s []*outSeg
	for _, o := range out {
		if o.tcp != nil {
			s = append(s, o.tcp)
		}
	}
	return s
}
