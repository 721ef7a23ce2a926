package tcp

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// Listener.SetFilter: connection attempts refused at SYN time.

// refusePort returns a filter refusing the peer's port port and recording
// what it was called with.
func refusePort(port uint16, seen *[]netip.AddrPort) func(netip.AddrPort) bool {
	return func(r netip.AddrPort) bool {
		*seen = append(*seen, r)
		return r.Port() != port
	}
}

func (p *peer) halfOpen() int {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	return len(p.e.l.conns)
}

func TestFilterRefusesSYN(t *testing.T) {
	p := newPeer(t, Config{})
	ln, _ := p.e.l.Listen(80)
	var seen []netip.AddrPort
	ln.SetFilter(refusePort(5000, &seen))
	// Refused: RST|ACK as for a closed port, no state.
	p.send(seg{sport: 5000, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000, opts: []byte{2, 4, 5, 180}})
	p.expect(FlagRST|FlagACK, u32(0), u32(8))
	p.none()
	if len(seen) != 1 || seen[0] != netip.MustParseAddrPort("10.0.0.2:5000") {
		t.Fatalf("filter saw %v", seen)
	}
	st := p.e.l.lockedStats()
	if st.ListenFiltered != 1 || st.States[SynReceived] != 0 || st.ResetsSent != 1 || st.Drops[DropNoListener] != 0 {
		t.Fatalf("stats: filtered %d, half-open %d, resets %d, no-listener %d", st.ListenFiltered, st.States[SynReceived], st.ResetsSent, st.Drops[DropNoListener])
	}
	if n := p.halfOpen(); n != 0 {
		t.Fatalf("%d connections after a refused SYN", n)
	}
	// Allowed: the handshake proceeds; a retransmitted SYN does not ask
	// the filter again.
	p.send(seg{sport: 5001, dport: 80, seq: 100, flags: FlagSYN, wnd: 1000})
	iss := p.expect(FlagSYN|FlagACK, nil, u32(101)).Seq()
	p.send(seg{sport: 5001, dport: 80, seq: 100, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, u32(iss), u32(101))
	p.send(seg{sport: 5001, dport: 80, seq: 101, ack: iss + 1, flags: FlagACK, wnd: 1000})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ln.AcceptContext(ctx)
	if err != nil || c.RemoteAddr().String() != "10.0.0.2:5001" {
		t.Fatalf("accept %v %v", c, err)
	}
	if len(seen) != 2 {
		t.Fatalf("filter called %d times, want 2", len(seen))
	}
	if st := p.e.l.lockedStats(); st.ListenFiltered != 1 || st.PassiveOpens != 1 {
		t.Fatalf("filtered %d, passive opens %d", st.ListenFiltered, st.PassiveOpens)
	}
}

func TestFilterChangeAndRemove(t *testing.T) {
	p := newPeer(t, Config{})
	ln, _ := p.e.l.Listen(80)
	ln.SetFilter(func(netip.AddrPort) bool { return false })
	p.send(seg{sport: 5000, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
	p.expect(FlagRST|FlagACK, u32(0), u32(8))
	ln.SetFilter(func(netip.AddrPort) bool { return true })
	p.send(seg{sport: 5001, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, nil, u32(8))
	ln.SetFilter(func(netip.AddrPort) bool { return false })
	if h := p.expect(FlagRST, nil, nil); h.DstPort() != 5001 { // the half-open one, screened
		t.Fatalf("RST to %d", h.DstPort())
	}
	p.send(seg{sport: 5002, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
	p.expect(FlagRST|FlagACK, u32(0), u32(8))
	ln.SetFilter(nil)
	p.send(seg{sport: 5003, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, nil, u32(8))
	if st := p.e.l.lockedStats(); st.ListenFiltered != 3 || st.States[SynReceived] != 1 {
		// 5000, 5001 (screened by the third SetFilter), 5002; 5003 is
		// half-open.
		t.Fatalf("filtered %d, half-open %d", st.ListenFiltered, st.States[SynReceived])
	}
}

// SetFilter applies to connections already waiting in the listener: a
// SYN that arrived between Listen and SetFilter cannot slip through.
func TestFilterScreensPending(t *testing.T) {
	p := newPeer(t, Config{})
	ln, _ := p.e.l.Listen(80)
	// Half-open from 5000, established and queued from 5001 and 5002.
	p.send(seg{sport: 5000, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
	iss0 := p.expect(FlagSYN|FlagACK, nil, u32(8)).Seq()
	for _, port := range []uint16{5001, 5002} {
		p.send(seg{sport: port, dport: 80, seq: 7, flags: FlagSYN, wnd: 1000})
		iss := p.expect(FlagSYN|FlagACK, nil, u32(8)).Seq()
		p.send(seg{sport: port, dport: 80, seq: 8, ack: iss + 1, flags: FlagACK, wnd: 1000, data: []byte("hello")})
		p.expect(FlagACK, nil, u32(13))
	}
	ln.SetFilter(func(r netip.AddrPort) bool { return r.Port() == 5002 })
	// Two RSTs: the half-open one (SEQ = our SYN's + 1) and the queued one.
	rsts := map[uint16]Header{}
	for i := 0; i < 2; i++ {
		h := p.expect(FlagRST, nil, nil)
		rsts[h.DstPort()] = h
	}
	p.none()
	if h := rsts[5000]; h == nil || h.Seq() != iss0+1 {
		t.Fatalf("half-open reset: %s", describe(rsts[5000]))
	}
	if rsts[5001] == nil {
		t.Fatal("queued connection not reset")
	}
	st := p.e.l.lockedStats()
	if st.ListenFiltered != 2 || st.States[SynReceived] != 0 || st.States[Established] != 1 {
		t.Fatalf("filtered %d, half-open %d, established %d", st.ListenFiltered, st.States[SynReceived], st.States[Established])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ln.AcceptContext(ctx)
	if err != nil || c.RemoteAddr().String() != "10.0.0.2:5002" {
		t.Fatalf("accept %v %v", c, err)
	}
	buf := make([]byte, 8)
	if n, _ := c.Read(buf); string(buf[:n]) != "hello" {
		t.Fatalf("read %q", buf[:n])
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if c, err := ln.AcceptContext(ctx2); err == nil {
		t.Fatalf("accepted a refused connection from %v", c.RemoteAddr())
	}
}

// The SYN-cookie path honours the filter: a refused SYN gets no cookie,
// and the ACK of a cookie is checked again when it would complete the
// handshake (the cookie keeps no record of the first answer).
func TestFilterSynCookies(t *testing.T) {
	p := newPeer(t, Config{MaxHalfOpen: 1})
	ln, _ := p.e.l.Listen(80)
	var seen []netip.AddrPort
	ln.SetFilter(refusePort(5000, &seen))
	// Take the only half-open slot.
	p.send(seg{sport: 4000, dport: 80, seq: 1, flags: FlagSYN, wnd: 1000})
	p.expect(FlagSYN|FlagACK, nil, u32(2))
	// Refused: no cookie.
	p.send(seg{sport: 5000, dport: 80, seq: 500, flags: FlagSYN, wnd: 1000})
	p.expect(FlagRST|FlagACK, u32(0), u32(501))
	if st := p.e.l.lockedStats(); st.SynCookiesSent != 0 || st.ListenFiltered != 1 {
		t.Fatalf("cookies %d, filtered %d", st.SynCookiesSent, st.ListenFiltered)
	}
	// Allowed: a cookie.
	p.send(seg{sport: 5001, dport: 80, seq: 500, flags: FlagSYN, wnd: 1000})
	cookie := p.expect(FlagSYN|FlagACK, nil, u32(501)).Seq()
	if st := p.e.l.lockedStats(); st.SynCookiesSent != 1 {
		t.Fatalf("cookies %d", st.SynCookiesSent)
	}
	// The filter now refuses everyone: the cookie's ACK gets a RST
	// <SEQ=SEG.ACK> and makes no connection.
	ln.SetFilter(func(netip.AddrPort) bool { return false })
	p.expect(FlagRST, nil, nil) // the half-open connection from 4000
	ack := seg{sport: 5001, dport: 80, seq: 501, ack: cookie + 1, flags: FlagACK, wnd: 1000}
	p.send(ack)
	p.expect(FlagRST, u32(cookie+1), nil)
	st := p.e.l.lockedStats()
	if st.SynCookiesValid != 0 || st.ListenFiltered != 3 || st.States[Established] != 0 || p.halfOpen() != 0 {
		t.Fatalf("valid %d, filtered %d, established %d, conns %d", st.SynCookiesValid, st.ListenFiltered, st.States[Established], p.halfOpen())
	}
	// Without the filter the same ACK completes the handshake.
	ln.SetFilter(nil)
	p.send(ack)
	p.none()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ln.AcceptContext(ctx)
	if err != nil || c.RemoteAddr().String() != "10.0.0.2:5001" {
		t.Fatalf("accept %v %v", c, err)
	}
	if st := p.e.l.lockedStats(); st.SynCookiesValid != 1 {
		t.Fatalf("valid cookies %d", st.SynCookiesValid)
	}
}

// A refused SYN that would reopen a TIME_WAIT 4-tuple is refused too.
func TestFilterTimeWaitReopen(t *testing.T) {
	p := newPeer(t, Config{})
	c, iss := p.open(nil)
	c.Close()
	p.expect(FlagACK|FlagFIN, u32(iss+1), nil)
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 1, ack: iss + 2, flags: FlagACK | FlagFIN, wnd: 1000})
	p.expect(FlagACK, u32(iss+2), u32(peerISN+2))
	p.e.l.listeners[80].v4.SetFilter(func(netip.AddrPort) bool { return false })
	p.send(seg{sport: 5000, dport: 80, seq: peerISN + 100000, flags: FlagSYN, wnd: 1000})
	p.expect(FlagRST|FlagACK, u32(0), u32(peerISN+100001))
	if st := p.e.l.lockedStats(); st.ListenFiltered != 1 || st.States[SynReceived] != 0 {
		t.Fatalf("filtered %d, half-open %d", st.ListenFiltered, st.States[SynReceived])
	}
}
