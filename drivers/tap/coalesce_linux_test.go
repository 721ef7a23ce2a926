package tap

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// tcpFrame builds an Ethernet/IPv4/TCP frame with valid checksums. opts
// are TCP options (a multiple of 4 bytes).
func tcpFrame(seq, ack uint32, flags uint8, opts, payload []byte) []byte {
	const eth = netif.EthernetHeaderLen
	thl := 20 + len(opts)
	f := make([]byte, eth+20+thl+len(payload))
	copy(f, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00})
	ip := f[eth:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:], uint16(seq)) // IP ID varies
	ip[6] = 0x40                                    // DF
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 1, 2, 3, 10, 1, 2, 4})
	binary.BigEndian.PutUint16(ip[10:], checksum.Checksum(ip[:20], 0))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = byte(thl/4) << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 512)
	copy(tcp[20:], opts)
	copy(tcp[thl:], payload)
	src, dst := inet.AddrFrom4(inet.Addr4(ip[12:16])), inet.AddrFrom4(inet.Addr4(ip[16:20]))
	binary.BigEndian.PutUint16(tcp[16:], checksum.Checksum(tcp, checksum.Pseudo(src, dst, inet.ProtoTCP, len(tcp))))
	return f
}

// ringDevice is a Device with only a transmit ring, for buildWrite.
func ringDevice(frames [][]byte) *Device {
	d := &Device{mtu: 1500, vnet: true, tx: newTxRing(1500, true)}
	for i, f := range frames {
		s, _ := d.tx.slot(uint64(i))
		copy(s[vnetHdrLen:], f)
		s[0] = 0xee // stale header bytes must be cleared
		d.tx.lens[i] = len(f)
	}
	d.head.Store(uint64(len(frames)))
	return d
}

// iovBytes concatenates the iovecs of the write buildWrite prepared.
func (d *Device) iovBytes() []byte {
	var out []byte
	for _, v := range d.iov[:d.niov] {
		out = append(out, unsafe.Slice(v.Base, v.Len)...)
	}
	return out
}

func payloadOf(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i + seed)
	}
	return p
}

const tcpFIN = 0x01

var tsOpt = []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} // NOP NOP timestamps

func TestCoalesceRun(t *testing.T) {
	const mss = 1448
	var frames [][]byte
	var want []byte
	seq := uint32(1000)
	for i := range 5 {
		n, flags := mss, uint8(tcpACK)
		if i == 4 {
			n, flags = 700, tcpACK|tcpPSH
		}
		p := payloadOf(n, i)
		frames = append(frames, tcpFrame(seq, 77, flags, tsOpt, p))
		want = append(want, p...)
		seq += uint32(n)
	}
	d := ringDevice(frames)
	k, n := d.buildWrite(0, d.head.Load())
	if k != 5 {
		t.Fatalf("coalesced %d frames, want 5", k)
	}
	w := d.iovBytes()
	if len(w) != n {
		t.Fatalf("write of %d bytes, buildWrite says %d", len(w), n)
	}
	h, f := w[:vnetHdrLen], w[vnetHdrLen:]
	ne := binary.NativeEndian
	hlen := netif.EthernetHeaderLen + 20 + 20 + len(tsOpt)
	if h[0] != vnetFlagNeedsCsum || h[1] != vnetGSOTCPv4 || int(ne.Uint16(h[2:])) != hlen ||
		ne.Uint16(h[4:]) != mss || ne.Uint16(h[6:]) != 34 || ne.Uint16(h[8:]) != 16 {
		t.Fatalf("virtio-net header %x", h)
	}
	ip := f[netif.EthernetHeaderLen:]
	if int(binary.BigEndian.Uint16(ip[2:])) != len(ip) || !ipChecksumOK(f) {
		t.Fatalf("IPv4 length %d of %d, checksum ok %v", binary.BigEndian.Uint16(ip[2:]), len(ip), ipChecksumOK(f))
	}
	tcp := ip[20:]
	if tcp[13] != tcpACK|tcpPSH || binary.BigEndian.Uint32(tcp[4:]) != 1000 {
		t.Fatalf("flags %#x seq %d", tcp[13], binary.BigEndian.Uint32(tcp[4:]))
	}
	if string(f[hlen:]) != string(want) {
		t.Fatal("payload of the coalesced segment differs")
	}
	// NEEDS_CSUM: the field holds the pseudo-header sum, so completing
	// the checksum as the kernel would gives a valid segment.
	binary.BigEndian.PutUint16(tcp[16:], checksum.Checksum(tcp, 0))
	if !tcpChecksumOK(f) {
		t.Fatal("completed checksum does not verify")
	}
	if a := testing.AllocsPerRun(20, func() {
		for i, fr := range frames {
			s, _ := d.tx.slot(uint64(i))
			copy(s[vnetHdrLen:], fr)
		}
		d.buildWrite(0, 5)
	}); a != 0 {
		t.Fatalf("buildWrite: %v allocations", a)
	}
}

// TestCoalesceBreaks checks that a run stops at every frame that may not
// join it, and that the frame before it is then written as it came.
func TestCoalesceBreaks(t *testing.T) {
	const mss = 1000
	p := payloadOf(mss, 0)
	first := tcpFrame(1, 9, tcpACK, tsOpt, p)
	otherOpt := append([]byte(nil), tsOpt...)
	otherOpt[7]++
	corrupt := tcpFrame(1+mss, 9, tcpACK, tsOpt, p)
	corrupt[len(corrupt)-1] ^= 0xff
	badIP := tcpFrame(1+mss, 9, tcpACK, tsOpt, p)
	badIP[netif.EthernetHeaderLen+4]++ // IP ID changed, IP checksum not updated
	for _, tc := range []struct {
		name string
		next []byte
	}{
		{"gap", tcpFrame(1+mss+1, 9, tcpACK, tsOpt, p)},
		{"other ack", tcpFrame(1+mss, 10, tcpACK, tsOpt, p)},
		{"other options", tcpFrame(1+mss, 9, tcpACK, otherOpt, p)},
		{"FIN", tcpFrame(1+mss, 9, tcpACK|tcpFIN, tsOpt, p)},
		{"bigger", tcpFrame(1+mss, 9, tcpACK, tsOpt, payloadOf(mss+1, 0))},
		{"empty", tcpFrame(1+mss, 9, tcpACK, tsOpt, nil)},
		{"bad TCP checksum", corrupt},
		{"bad IP checksum", badIP},
		{"ARP", make([]byte, 42)},
	} {
		d := ringDevice([][]byte{first, tc.next})
		if k, n := d.buildWrite(0, 2); k != 1 || n != vnetHdrLen+len(first) {
			t.Errorf("%s: write of %d frames, %d bytes", tc.name, k, n)
			continue
		}
		w := d.iovBytes()
		if string(w[:vnetHdrLen]) != string(make([]byte, vnetHdrLen)) || string(w[vnetHdrLen:]) != string(first) {
			t.Errorf("%s: first frame not written unchanged with an empty header", tc.name)
		}
	}
	// A short segment ends a run, and so does PSH; a bad or PSH first
	// frame never starts one.
	short := tcpFrame(1+mss, 9, tcpACK, tsOpt, payloadOf(mss-1, 0))
	psh := tcpFrame(1+mss, 9, tcpACK|tcpPSH, tsOpt, p)
	for _, second := range [][]byte{short, psh} {
		third := tcpFrame(1+mss+uint32(len(second)-len(first)+mss), 9, tcpACK, tsOpt, p)
		d := ringDevice([][]byte{first, second, third})
		if k, _ := d.buildWrite(0, 3); k != 2 {
			t.Errorf("run of %d frames, want 2 (ended by a short or PSH segment)", k)
		}
	}
	bad := append([]byte(nil), first...)
	bad[len(bad)-1] ^= 1
	pshHead := tcpFrame(1, 9, tcpACK|tcpPSH, tsOpt, p)
	for _, head := range [][]byte{bad, pshHead} {
		next := tcpFrame(1+mss, 9, tcpACK, tsOpt, p)
		d := ringDevice([][]byte{head, next})
		if k, _ := d.buildWrite(0, 2); k != 1 {
			t.Errorf("run of %d frames after a head that cannot start one", k)
		}
	}
	// Without IFF_VNET_HDR nothing is coalesced.
	d := ringDevice([][]byte{first, tcpFrame(1+mss, 9, tcpACK, tsOpt, p)})
	d.tx.hdr = 0
	for i := range 2 {
		s, _ := d.tx.slot(uint64(i))
		copy(s, s[vnetHdrLen:vnetHdrLen+d.tx.lens[i]])
	}
	if k, n := d.buildWrite(0, 2); k != 1 || n != len(first) || string(d.iovBytes()) != string(first) {
		t.Fatalf("plain frames: write of %d frames, %d bytes", k, n)
	}
}
