package tap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

const timeout = 5 * time.Second

// openTestTAP creates a TAP with a test-unique name and gives its kernel
// side 10.199.X.1/24. It returns the device, the kernel's address and ours.
func openTestTAP(t *testing.T) (d *Device, kernel, ours [4]byte) {
	t.Helper()
	require.TUN(t)
	require.Root(t)
	require.Commands(t, "iproute2", "ip")
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	name := fmt.Sprintf("mtap%d", pid%100000)
	x := byte(pid%200 + 20)
	kernel, ours = [4]byte{10, 199, x, 1}, [4]byte{10, 199, x, 2}
	d, err = Open(name, Options{MTU: 1500, SetMTU: true, BringUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		exec.Command(ipCmd, "link", "del", name).Run() // in case Close left it
	})
	if d.Name() != name {
		t.Fatalf("name %q, want %q", d.Name(), name)
	}
	run := func(args ...string) {
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("addr", "add", fmt.Sprintf("%d.%d.%d.%d/24", kernel[0], kernel[1], kernel[2], kernel[3]), "dev", name)
	out, err := exec.Command(ipCmd, "link", "show", name).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ",UP") || !strings.Contains(string(out), "mtu 1500") {
		t.Fatalf("BringUp/SetMTU did not take effect: %v: %s", err, out)
	}
	return d, kernel, ours
}

// arpFrame builds an ARP packet (RFC 826) for Ethernet/IPv4.
func arpFrame(dst, sha inet.MAC, op uint16, spa [4]byte, tha inet.MAC, tpa [4]byte) []byte {
	f := make([]byte, 42)
	copy(f, dst[:])
	copy(f[6:], sha[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[8:], sha[:])
	copy(a[14:], spa[:])
	copy(a[18:], tha[:])
	copy(a[24:], tpa[:])
	return f
}

// waitARP waits for an ARP frame with the given opcode and sender address.
func waitARP(t *testing.T, ch chan []byte, op uint16, spa [4]byte) []byte {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case f := <-ch:
			if len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 &&
				binary.BigEndian.Uint16(f[20:]) == op && bytes.Equal(f[28:32], spa[:]) {
				return f
			}
		case <-deadline:
			t.Fatalf("no ARP op %d from %v within %v", op, spa, timeout)
		}
	}
}

func TestKernelAnswersARP(t *testing.T) {
	d, kernel, ours := openTestTAP(t)
	ch := make(chan []byte, 64)
	d.SetHandler(func(f []byte, _ netif.RxMeta) {
		select {
		case ch <- append([]byte(nil), f...):
		default:
		}
	})
	// Header in the contiguous part, ARP body attached: exercises writev.
	req := arpFrame(inet.BroadcastMAC, d.MAC(), 1, ours, inet.MAC{}, kernel)
	b := pkt.New(64, 0)
	copy(b.Append(14), req[:14])
	b.Attach(req[14:30])
	b.Attach(req[30:])
	if err := d.Transmit(b); err != nil {
		t.Fatal(err)
	}
	reply := waitARP(t, ch, 2, kernel)
	mac := d.MAC()
	if !bytes.Equal(reply[0:6], mac[:]) || !bytes.Equal(reply[32:38], mac[:]) {
		t.Fatalf("reply not addressed to us: %x", reply)
	}
	if st := d.Stats(); st.TxFrames != 1 || st.TxBytes != 42 || st.RxFrames == 0 {
		t.Fatalf("stats %+v", st)
	}

	flat := pkt.New(64, 0)
	copy(flat.Append(len(req)), req)
	if allocs := testing.AllocsPerRun(20, func() { d.Transmit(flat) }); allocs != 0 {
		t.Fatalf("Transmit: %v allocations per frame", allocs)
	}
}

func TestKernelSendsARP(t *testing.T) {
	d, kernel, ours := openTestTAP(t)
	ch := make(chan []byte, 64)
	d.SetHandler(func(f []byte, _ netif.RxMeta) {
		select {
		case ch <- append([]byte(nil), f...):
		default:
		}
	})
	// ping makes the kernel resolve our address; only the TAP's subnet is
	// involved. It fails (nobody answers the echo), which is fine.
	require.Commands(t, "iputils-ping", "ping")
	ping := exec.Command("ping", "-c1", "-W1", fmt.Sprintf("%d.%d.%d.%d", ours[0], ours[1], ours[2], ours[3]))
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ping.Process.Kill()
		ping.Wait()
	}()
	req := waitARP(t, ch, 1, kernel)
	if !bytes.Equal(req[38:42], ours[:]) {
		t.Fatalf("ARP request for %v, want %v", req[38:42], ours)
	}
}

func TestCloseStopsReader(t *testing.T) {
	d, _, _ := openTestTAP(t)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case <-closed:
	case <-time.After(timeout):
		t.Fatal("Close did not stop the read loop")
	}
	if err := d.Transmit(pkt.New(64, 0)); err != netif.ErrClosed {
		t.Fatalf("Transmit after Close: %v", err)
	}
	if _, err := os.Stat("/sys/class/net/" + d.Name()); err == nil {
		t.Fatalf("%s still exists after Close", d.Name())
	}
}

func TestLinkDownAndTooBig(t *testing.T) {
	d, kernel, ours := openTestTAP(t)
	req := arpFrame(inet.BroadcastMAC, d.MAC(), 1, ours, inet.MAC{}, kernel)
	b := pkt.New(2048, 0)
	copy(b.Append(len(req)), req)
	ipLink := func(state string) {
		if out, err := exec.Command("ip", "link", "set", d.Name(), state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s %s: %v: %s", d.Name(), state, err, out)
		}
	}
	// Transmit queues the frame; the writer learns from the kernel (EIO)
	// that its side is down, and Transmit reports it from then on.
	ipLink("down")
	stacktest.WaitFor(t, "LinkUp false after the kernel side went down", timeout, func() bool {
		d.Transmit(b)
		return !d.LinkUp()
	})
	if err := d.Transmit(b); err != netif.ErrLinkDown {
		t.Fatalf("kernel side down: Transmit %v", err)
	}
	if st := d.Stats(); st.TxDropped == 0 {
		t.Fatalf("frames written while down not counted as dropped: %+v", st)
	}
	ipLink("up")
	stacktest.WaitFor(t, "LinkUp true after the kernel side came up", timeout, func() bool {
		d.Transmit(b)
		return d.LinkUp()
	})
	if err := d.Transmit(b); err != nil {
		t.Fatalf("kernel side up again: Transmit %v", err)
	}
	big := pkt.New(2048, 0)
	big.Append(1500 + netif.EthernetHeaderLen + 1)
	if err := d.Transmit(big); err != netif.ErrTooBig {
		t.Fatalf("oversized frame: %v", err)
	}
}

// capture opens a packet socket that sees the frames the kernel receives
// on interface name.
func capture(t *testing.T, name string) int {
	t.Helper()
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	proto := int(uint16(unix.ETH_P_ALL)<<8 | uint16(unix.ETH_P_ALL)>>8)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		// Root (checked by openTestTAP) may open packet sockets.
		t.Fatalf("AF_PACKET socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index}); err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	tv := unix.NsecToTimeval(int64(timeout))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd
}

// TestRingBackpressure fills the transmit ring while the writer is held
// up, checks that Transmit then waits at most fullWait and reports
// ErrBusy (counting the drop), that the writer reports room
// (SetTxRoom) once it has drained half the ring, and that every queued
// frame reaches the kernel, in order, once the writer runs again.
func TestRingBackpressure(t *testing.T) {
	d, _, _ := openTestTAP(t)
	fd := capture(t, d.Name())
	const etype = 0x88b5 // IEEE 802 local experimental
	mac := d.MAC()
	frame := func(i int) *pkt.Buf {
		b := pkt.New(64, 0)
		f := b.Append(60)
		copy(f, inet.BroadcastMAC[:])
		copy(f[6:], mac[:])
		binary.BigEndian.PutUint16(f[12:], etype)
		binary.BigEndian.PutUint32(f[14:], uint32(i))
		return b
	}
	n := int(d.tx.n)
	room := make(chan bool, 4)
	if !d.SetTxRoom(func() { room <- d.halfFree() }) {
		t.Fatal("SetTxRoom: a TAP reports room")
	}
	d.wMu.Lock() // as if the writer were stuck in a write
	for i := range n {
		if err := d.Transmit(frame(i)); err != nil {
			d.wMu.Unlock()
			t.Fatalf("frame %d of %d: %v", i, n, err)
		}
	}
	t0 := time.Now()
	err := d.Transmit(frame(n))
	el := time.Since(t0)
	err2 := d.Transmit(frame(n + 1)) // no progress since: fails at once
	d.wMu.Unlock()
	if err != netif.ErrBusy || err2 != netif.ErrBusy {
		t.Fatalf("full ring: Transmit %v, then %v; want ErrBusy", err, err2)
	}
	if el < fullWait || el > fullWait+time.Second {
		t.Errorf("Transmit on a full ring returned after %v, want about %v", el, fullWait)
	}
	if st := d.Stats(); st.TxDropped != 2 || st.TxFrames != uint64(n) {
		t.Fatalf("stats %+v, want %d frames and 2 dropped", st, n)
	}
	select {
	case half := <-room:
		if !half {
			t.Fatal("room reported while the ring was more than half full")
		}
	case <-time.After(timeout):
		t.Fatal("no room reported after the refusals")
	}
	// The writer drains the ring; a frame sent now follows the others.
	if err := d.Transmit(frame(n + 2)); err != nil {
		t.Fatal(err)
	}
	want := 0
	buf := make([]byte, 2048)
	for want <= n {
		m, err := unix.Read(fd, buf)
		if err != nil {
			t.Fatalf("capture: %v after %d frames", err, want)
		}
		if m < 18 || binary.BigEndian.Uint16(buf[12:]) != etype || !bytes.Equal(buf[6:12], mac[:]) {
			continue
		}
		got := int(binary.BigEndian.Uint32(buf[14:]))
		if want == n {
			want = n + 2 // n and n+1 were dropped
		}
		if got != want {
			t.Fatalf("frame %d reached the kernel, want %d", got, want)
		}
		if want == n+2 {
			break
		}
		want++
	}
}

// TestCloseStopsGoroutines checks that Close ends both the reader and the
// writer, also with frames queued.
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	d, kernel, ours := openTestTAP(t)
	req := arpFrame(inet.BroadcastMAC, d.MAC(), 1, ours, inet.MAC{}, kernel)
	b := pkt.New(64, 0)
	copy(b.Append(len(req)), req)
	for range 1000 {
		d.Transmit(b)
	}
	d.Close()
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before Open", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
