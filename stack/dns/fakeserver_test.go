package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

// rr is a record a fake server answers with (uncompressed on the wire).
type rr struct {
	name   string
	typ    uint16
	ttl    uint32
	rdata  []byte
	target string // CNAME target, or SOA MNAME
}

// reply describes one response: the fields a test may want to get wrong.
type reply struct {
	idDelta  uint16 // added to the query ID (non-zero: a wrong ID)
	rcode    uint8
	tc       bool
	answers  []rr
	auth     []rr
	noQR     bool
	question string // overrides the echoed question name
	qtype    uint16 // overrides the echoed question type
}

// encodeReply builds the response to query q.
func encodeReply(t testing.TB, q *Message, r reply) []byte {
	t.Helper()
	flags := uint16(1<<15|1<<8|1<<7) | uint16(r.rcode)
	if r.tc {
		flags |= 1 << 9
	}
	if r.noQR {
		flags &^= 1 << 15
	}
	b := binary.BigEndian.AppendUint16(nil, q.ID+r.idDelta)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.answers)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.auth)))
	b = binary.BigEndian.AppendUint16(b, 0)
	qn := q.Questions[0].Name
	if r.question != "" {
		qn = r.question
	}
	b = mustName(t, b, qn)
	qt := q.Questions[0].Type
	if r.qtype != 0 {
		qt = r.qtype
	}
	b = binary.BigEndian.AppendUint16(b, qt)
	b = binary.BigEndian.AppendUint16(b, q.Questions[0].Class)
	for _, x := range append(r.answers, r.auth...) {
		b = mustName(t, b, x.name)
		b = binary.BigEndian.AppendUint16(b, x.typ)
		b = binary.BigEndian.AppendUint16(b, ClassINET)
		b = binary.BigEndian.AppendUint32(b, x.ttl)
		rd := x.rdata
		switch x.typ {
		case TypeCNAME:
			rd = mustName(t, nil, x.target)
		case TypeSOA:
			rd = mustName(t, nil, x.target)
			rd = mustName(t, rd, "hostmaster."+x.target)
			rd = append(rd, x.rdata...) // serial..minimum
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	return b
}

func mustName(t testing.TB, b []byte, n string) []byte {
	b, err := appendName(b, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func aRR(name string, ttl uint32, ip string) rr {
	a := netip.MustParseAddr(ip).As4()
	return rr{name: name, typ: TypeA, ttl: ttl, rdata: a[:]}
}

func aaaaRR(name string, ttl uint32, ip string) rr {
	a := netip.MustParseAddr(ip).As16()
	return rr{name: name, typ: TypeAAAA, ttl: ttl, rdata: a[:]}
}

func soaRR(zone string, ttl, minimum uint32) rr {
	d := make([]byte, 20)
	binary.BigEndian.PutUint32(d[16:], minimum)
	return rr{name: zone, typ: TypeSOA, ttl: ttl, target: "ns." + zone, rdata: d}
}

// fakeServer is a DNS server on 127.0.0.1 serving UDP and TCP on the same
// port. handle returns the responses to send for a query, in order (none:
// stay silent).
type fakeServer struct {
	t      testing.TB
	udp    *net.UDPConn
	tcp    *net.TCPListener
	handle func(q *Message, tcp bool) []reply
	udpQ   atomic.Int32
	tcpQ   atomic.Int32
	wg     sync.WaitGroup
}

func newFakeServer(t testing.TB, handle func(q *Message, tcp bool) []reply) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, handle: handle}
	var err error
	for range 20 {
		s.udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		s.tcp, err = net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.udp.LocalAddr().(*net.UDPAddr).Port})
		if err == nil {
			break
		}
		s.udp.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(func() {
		s.udp.Close()
		s.tcp.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) Addr() netip.AddrPort { return s.udp.LocalAddr().(*net.UDPAddr).AddrPort() }

func (s *fakeServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		q, err := ParseMessage(buf[:n])
		if err != nil {
			s.t.Errorf("server: bad query: %v", err)
			continue
		}
		s.udpQ.Add(1)
		for _, r := range s.handle(q, false) {
			s.udp.WriteToUDPAddrPort(encodeReply(s.t, q, r), from)
		}
	}
}

func (s *fakeServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.serveConn(c)
	}
}

func (s *fakeServer) serveConn(c net.Conn) {
	defer c.Close()
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return
	}
	q, err := ParseMessage(buf)
	if err != nil {
		s.t.Errorf("server: bad TCP query: %v", err)
		return
	}
	s.tcpQ.Add(1)
	for _, r := range s.handle(q, true) {
		b := encodeReply(s.t, q, r)
		c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(b))))
		c.Write(b)
	}
}

// silentServer is a bound UDP socket that never answers; it reports each
// query on the returned channel (non-blocking, buffered).
func silentServer(t testing.TB) (netip.AddrPort, <-chan struct{}) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Error(err)
				}
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), got
}
