package tcp

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/transport"
)

func FuzzParseOptions(f *testing.F) {
	var b [40]byte
	n := synOptions(b[:], 1460, 7, true, true, 1, 2)
	f.Add(append([]byte(nil), b[:n]...))
	n = dataOptions(b[:], true, 5, 6, []span{{1, 2}, {3, 4}, {5, 6}})
	f.Add(append([]byte(nil), b[:n]...))
	f.Add([]byte{2, 0})
	f.Add([]byte{8, 10, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		o, _ := ParseOptions(data)
		if o.HasWS && o.WScale > maxWScale {
			t.Fatalf("window scale %d", o.WScale)
		}
		if o.NumSACK > maxSACKBlocks {
			t.Fatal("too many SACK blocks")
		}
		// Whatever parsed must encode and parse back the same.
		if o.HasMSS && o.HasTS {
			var b [40]byte
			ws := -1
			if o.HasWS {
				ws = int(o.WScale)
			}
			n := synOptions(b[:], o.MSS, ws, o.SACKOK, true, o.TSVal, o.TSEcr)
			o2, _ := ParseOptions(b[:n])
			if o2.MSS != o.MSS || o2.TSVal != o.TSVal || o2.TSEcr != o.TSEcr || o2.SACKOK != o.SACKOK || o2.HasWS != o.HasWS || o2.WScale != o.WScale {
				t.Fatalf("round trip %+v -> %+v", o, o2)
			}
		}
	})
}

// fuzzSegment turns fuzz input into segments for port 80 from 5000: the
// input is split at 0xFE 0xFF markers; each part is a TCP segment whose
// ports are forced and whose seq/ack are taken relative to base values,
// so that small numbers hit the window. The checksum is fixed up so the
// segment reaches the state machine.
func fuzzSegments(data []byte, seqBase, ackBase uint32, deliver func([]byte)) {
	for len(data) > 0 {
		part := data
		for i := 0; i+1 < len(data); i++ {
			if data[i] == 0xfe && data[i+1] == 0xff {
				part, data = data[:i], data[i+2:]
				goto got
			}
		}
		data = nil
	got:
		if len(part) < HeaderLen {
			deliver(part)
			continue
		}
		b := append([]byte(nil), part...)
		binary.BigEndian.PutUint16(b[0:], 5000)
		binary.BigEndian.PutUint16(b[2:], 80)
		binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+seqBase)
		binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(b[8:])+ackBase)
		b[16], b[17] = 0, 0
		deliver(fixChecksum(b))
	}
}

func fixChecksum(b []byte) []byte {
	cs := checksumOf(b)
	binary.BigEndian.PutUint16(b[16:], cs)
	return b
}

func fuzzSeeds(f *testing.F) {
	hdr := func(seq, ack uint32, flags uint8, wnd uint16, extra ...byte) []byte {
		opts := extra
		for len(opts)%4 != 0 {
			opts = append(opts, 0)
		}
		b := make([]byte, HeaderLen+len(opts))
		(&Fields{Seq: seq, Ack: ack, Flags: flags, Window: wnd, Options: opts}).Encode(b)
		return b
	}
	f.Add(hdr(0, 0, FlagSYN, 65535, 2, 4, 5, 180, 4, 2, 1, 3, 3, 7))
	f.Add(hdr(0, 1, FlagACK, 1000))
	f.Add(append(hdr(0, 1, FlagACK|FlagPSH, 1000), "hello"...))
	f.Add(append(append(hdr(5, 1, FlagACK, 1000), "world"...), append([]byte{0xfe, 0xff}, hdr(0, 1, FlagACK|FlagFIN, 1000)...)...))
	f.Add(hdr(0, 0, FlagRST, 0))
	f.Add(hdr(1, 0, FlagRST|FlagACK, 0))
	f.Add(hdr(0, 1, FlagACK, 1000, 1, 1, 5, 10, 0, 0, 0, 2, 0, 0, 0, 4))
}

// checkIP is the segment fuzzers' IP layer: every segment the layer
// sends must parse, carry a correct checksum over the pseudo-header and
// go from addrA to addrB; it keeps them for the liveness probe.
type checkIP struct {
	t    *testing.T
	sent []Header
}

func (c *checkIP) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, o transport.WriteOptions) error {
	d := make([]byte, b.Len())
	b.CopyTo(d)
	h, err := ParseHeader(d)
	switch {
	case err != nil:
		c.t.Errorf("sent a segment that does not parse (%v): %x", err, d)
	case checksum.Fold(checksum.Sum(d, checksum.Pseudo(src, dst, inet.ProtoTCP, len(d)))) != 0xffff:
		c.t.Errorf("sent a segment with a bad checksum: %x", d)
	case src != addrA || dst != addrB:
		c.t.Errorf("sent a segment from %v to %v", src, dst)
	case proto != inet.ProtoTCP || !o.DontFragment:
		c.t.Errorf("sent protocol %d, DF %v", proto, o.DontFragment)
	default:
		c.sent = append(c.sent, h)
	}
	return nil
}
func (c *checkIP) Headroom() int                       { return 34 }
func (c *checkIP) Offloads() netif.Offloads            { return netif.Offloads{} }
func (c *checkIP) MTU(inet.Addr) int                   { return 1500 }
func (c *checkIP) PortUnreachable(*transport.Packet)   {}
func (c *checkIP) Source(inet.Addr) (inet.Addr, error) { return addrA, nil }

// probe is the liveness oracle: after the fuzz input, a SYN from a fresh
// port to port 80 must get a SYN-ACK if listening, else an RST.
func probe(t *testing.T, p *peer, c *checkIP, listening bool) {
	t.Helper()
	c.sent = nil
	var b [HeaderLen]byte
	(&Fields{SrcPort: 6001, DstPort: 80, Seq: 77, Flags: FlagSYN, Window: 1000}).Encode(b[:])
	p.e.mu.Lock()
	p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: fixChecksum(b[:])})
	p.e.mu.Unlock()
	want := uint8(FlagSYN | FlagACK)
	if !listening {
		want = FlagRST | FlagACK
	}
	for _, h := range c.sent {
		if h.DstPort() == 6001 && h.Flags()&(FlagSYN|FlagACK|FlagRST) == want && h.Ack() == 78 {
			return
		}
	}
	t.Fatalf("no %s to a fresh SYN after the input (sent %d segments)", flagString(want), len(c.sent))
}

func fuzzPeer(t *testing.T) (*peer, *checkIP) {
	p := newPeerN(t, Config{}, 16)
	c := &checkIP{t: t}
	p.e.l.ip = c
	return p, c
}

func FuzzSegmentListen(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, c := fuzzPeer(t)
		p.e.l.Listen(80)
		fuzzSegments(data, peerISN, 0, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
			p.e.mu.Unlock()
		})
		p.advance(10 * time.Minute)
		probe(t, p, c, true)
	})
}

func FuzzSegmentClosed(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, c := fuzzPeer(t)
		fuzzSegments(data, peerISN, 0, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
			p.e.mu.Unlock()
		})
		probe(t, p, c, false)
	})
}

func FuzzSegmentEstablished(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newPeerN(t, Config{}, 16)
		c, iss := p.open(append([]byte{2, 4, 5, 180, 4, 2, 1, 3, 3, 7}, tsBytes(1000, 0)...))
		ip := &checkIP{t: t}
		p.e.l.ip = ip
		p.write(c, make([]byte, 5000))
		fuzzSegments(data, peerISN+1, iss, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(&transport.Packet{Src: addrB, Dst: addrA, Payload: b})
			p.e.mu.Unlock()
		})
		buf := make([]byte, 1<<16)
		p.e.mu.Lock()
		c.tryRead(buf)
		p.e.mu.Unlock()
		p.advance(time.Second)
		c.Close()
		p.advance(10 * time.Minute)
		probe(t, p, ip, true)
	})
}
