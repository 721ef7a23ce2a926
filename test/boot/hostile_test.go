//go:build linux

package boot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// hostileFrames is how many malformed frames TestBootEchoHostileFrames
// sends to each board.
const hostileFrames = 6000

// TestBootEchoHostileFrames boots the echo image on each board on a TAP,
// then writes malformed frames straight onto the link (an AF_PACKET socket
// on the TAP): valid ICMP, UDP, TCP, fragment and ARP frames addressed to
// the guest, with fields mutated and checksums repaired half the time so
// that the damage reaches the deeper layers, plus truncations and random
// bytes. Afterwards the guest must not have panicked, and must still
// answer ping and echo over TCP.
func TestBootEchoHostileFrames(t *testing.T) {
	root := requireEnv(t)
	for _, board := range boards {
		t.Run(board, func(t *testing.T) {
			tap, n := newTAP(t)
			kernelIP, guestIP := fmt.Sprintf("10.199.%d.1", n), fmt.Sprintf("10.199.%d.15", n)
			image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort,
				ip: guestIP + "/24", gw: kernelIP})
			g := boot(t, root, image, board, "-tap", tap)
			g.waitFor(t, `msg="echo serving"`)
			ping(t, guestIP) // also puts the guest's MAC in the kernel's ARP table
			addr := net.JoinHostPort(guestIP, echoPort)
			waitTCPEcho(t, g, addr)

			ifi, err := net.InterfaceByName(tap)
			if err != nil {
				t.Fatal(err)
			}
			guestMAC := arpEntry(t, guestIP, tap)
			fz := newFuzzer(n, ifi.HardwareAddr, guestMAC)
			sent := sendRaw(t, ifi.Index, hostileFrames, fz.frame)
			t.Logf("sent %d malformed frames to %v", sent, guestMAC)
			// Mutated ARP frames can rebind the kernel's address to a
			// bogus MAC in the guest's cache (ARP has no authentication);
			// a valid request from the kernel puts it right, as the
			// kernel itself would only after its entry goes stale.
			arp := fz.arpFrame()
			sendRaw(t, ifi.Index, 3, func() []byte { return arp })

			ping(t, guestIP)
			waitTCPEcho(t, g, addr)
			bulkEcho(t, addr, 64<<10, nil)
			udpEcho(t, addr, []int{100})
			for _, bad := range []string{"panic:", "fatal error:", "level=ERROR"} {
				if strings.Contains(g.text(), bad) {
					t.Fatalf("console shows %q", bad)
				}
			}
		})
	}
}

// arpEntry returns the kernel's ARP entry for ip on dev (/proc/net/arp).
func arpEntry(t *testing.T, ip, dev string) net.HardwareAddr {
	t.Helper()
	f, err := os.Open("/proc/net/arp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// IP address, HW type, Flags, HW address, Mask, Device
		fs := strings.Fields(sc.Text())
		if len(fs) == 6 && fs[0] == ip && fs[5] == dev {
			if mac, err := net.ParseMAC(fs[3]); err == nil && fs[3] != "00:00:00:00:00:00" {
				return mac
			}
		}
	}
	t.Fatalf("no ARP entry for %s on %s", ip, dev)
	return nil
}

// sendRaw writes count frames from next onto the link ifindex.
func sendRaw(t *testing.T, ifindex, count int, next func() []byte) int {
	t.Helper()
	proto := int(htons(syscall.ETH_P_ALL))
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, proto)
	if err != nil {
		t.Fatalf("AF_PACKET socket: %v", err)
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: ifindex}
	sent := 0
	for range count {
		if err := syscall.Sendto(fd, next(), 0, sa); err == nil {
			sent++
		} else if err != syscall.ENOBUFS && err != syscall.EAGAIN && err != syscall.EINVAL {
			t.Fatalf("sendto after %d frames: %v", sent, err)
		}
	}
	return sent
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// fuzzer makes malformed frames from valid templates, reproducibly.
type fuzzer struct {
	rnd       *rand.Rand
	src, dst  net.HardwareAddr
	sip, dip  [4]byte
	templates [][]byte
}

func newFuzzer(n int, kernelMAC, guestMAC net.HardwareAddr) *fuzzer {
	f := &fuzzer{
		rnd: rand.New(rand.NewPCG(uint64(n), 0x6d697261676f)),
		src: kernelMAC, dst: guestMAC,
		sip: [4]byte{10, 199, byte(n), 1}, dip: [4]byte{10, 199, byte(n), 15},
	}
	payload := make([]byte, 56)
	icmp := append([]byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}, payload...)
	udp := append([]byte{0xc0, 0x00, 0, 7, 0, 0, 0, 0}, payload...)
	syn := []byte{0xc0, 0x01, 0, 7, 1, 2, 3, 4, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xff, 0, 0, 0, 0,
		2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}
	ack := append([]byte{0xc0, 0x02, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0}, payload...)
	f.templates = [][]byte{
		f.ipFrame(1, icmp, 0, nil),
		f.ipFrame(17, udp, 0, nil),
		f.ipFrame(6, syn, 0, nil),
		f.ipFrame(6, ack, 0, nil),
		f.ipFrame(17, udp, 0x2000, nil),                                    // first fragment (MF)
		f.ipFrame(17, payload, 0x0003, nil),                                // a later fragment
		f.ipFrame(1, icmp, 0, []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1}), // record route
		f.arpFrame(),
	}
	return f
}

func (f *fuzzer) ether(etype uint16, body []byte) []byte {
	b := make([]byte, 14, 14+len(body))
	copy(b[0:6], f.dst)
	copy(b[6:12], f.src)
	binary.BigEndian.PutUint16(b[12:], etype)
	return append(b, body...)
}

func (f *fuzzer) ipFrame(proto byte, l4 []byte, frag uint16, opts []byte) []byte {
	hl := 20 + len(opts)
	ip := make([]byte, hl+len(l4))
	ip[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:], 0x4242)
	binary.BigEndian.PutUint16(ip[6:], frag)
	ip[8], ip[9] = 64, proto
	copy(ip[12:16], f.sip[:])
	copy(ip[16:20], f.dip[:])
	copy(ip[20:], opts)
	copy(ip[hl:], l4)
	fixIP(ip)
	fixL4(ip)
	return f.ether(0x0800, ip)
}

func (f *fuzzer) arpFrame() []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[8:14], f.src)
	copy(a[14:18], f.sip[:])
	copy(a[24:28], f.dip[:])
	return f.ether(0x0806, a)
}

// frame returns the next malformed frame.
func (f *fuzzer) frame() []byte {
	r := f.rnd
	if r.IntN(20) == 0 { // pure noise behind a valid Ethernet header
		b := make([]byte, 14+r.IntN(1500))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		copy(b[0:6], f.dst)
		return b
	}
	b := append([]byte(nil), f.templates[r.IntN(len(f.templates))]...)
	// Mutate bytes, mostly in the headers.
	for range 1 + r.IntN(6) {
		end := len(b)
		if r.IntN(4) != 0 && end > 14+60 {
			end = 14 + 60
		}
		i := 12 + r.IntN(end-12)
		switch r.IntN(3) {
		case 0:
			b[i] = byte(r.Uint32())
		case 1:
			b[i] ^= 1 << r.IntN(8)
		default:
			b[i] = []byte{0, 1, 0x7f, 0x80, 0xff}[r.IntN(5)]
		}
	}
	if r.IntN(4) == 0 { // truncate (keeping an Ethernet header)
		b = b[:14+r.IntN(len(b)-13)]
	}
	if binary.BigEndian.Uint16(b[12:]) == 0x0800 && len(b) >= 14+20 {
		if r.IntN(2) == 0 {
			fixIP(b[14:])
		}
		if r.IntN(2) == 0 {
			fixL4(b[14:])
		}
	}
	return b
}

// fixIP recomputes the IPv4 header checksum if the header fits.
func fixIP(ip []byte) {
	hl := int(ip[0]&0x0f) * 4
	if hl < 20 || hl > len(ip) {
		return
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], csum(ip[:hl], 0))
}

// fixL4 recomputes the ICMP, UDP or TCP checksum over the bytes present.
func fixL4(ip []byte) {
	hl := int(ip[0]&0x0f) * 4
	if hl < 20 || hl > len(ip) {
		return
	}
	l4 := ip[hl:]
	var off int
	var pseudo uint32
	switch ip[9] {
	case 1:
		off = 2
	case 17:
		off = 6
	case 6:
		off = 16
	default:
		return
	}
	if len(l4) < off+2 {
		return
	}
	if ip[9] != 1 {
		for i := 12; i < 20; i += 2 {
			pseudo += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		pseudo += uint32(ip[9]) + uint32(len(l4))
	}
	l4[off], l4[off+1] = 0, 0
	binary.BigEndian.PutUint16(l4[off:], csum(l4, pseudo))
}

func csum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
