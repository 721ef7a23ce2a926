package tcp

import (
	"encoding/binary"
	"testing"
	"time"
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
		var o Options
		ParseOptions(data, &o)
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
			var o2 Options
			ParseOptions(b[:n], &o2)
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
		(&Fields{Seq: seq, Ack: ack, Flags: flags, Window: wnd}).Encode(b, opts)
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

func fuzzPeer(t *testing.T) *peer {
	p := newPeerN(t, Config{}, 16)
	p.e.l.ip = &discardIP{}
	return p
}

func FuzzSegmentListen(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzPeer(t)
		p.e.l.Listen(80)
		fuzzSegments(data, peerISN, 0, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(addrB, addrA, b)
			p.e.mu.Unlock()
		})
		p.advance(10 * time.Minute)
	})
}

func FuzzSegmentClosed(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzPeer(t)
		fuzzSegments(data, peerISN, 0, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(addrB, addrA, b)
			p.e.mu.Unlock()
		})
	})
}

func FuzzSegmentEstablished(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newPeerN(t, Config{}, 16)
		c, iss := p.open(append([]byte{2, 4, 5, 180, 4, 2, 1, 3, 3, 7}, tsBytes(1000, 0)...))
		p.e.l.ip = &discardIP{}
		p.write(c, make([]byte, 5000))
		fuzzSegments(data, peerISN+1, iss, func(b []byte) {
			p.e.mu.Lock()
			p.e.l.Deliver(addrB, addrA, b)
			p.e.mu.Unlock()
		})
		buf := make([]byte, 1<<16)
		p.e.mu.Lock()
		c.tryRead(buf)
		p.e.mu.Unlock()
		p.advance(time.Second)
		c.Close()
		p.advance(10 * time.Minute)
	})
}
