package stack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/tcp"
)

// pair builds two stacks, A (10.0.0.1) and B (10.0.0.2), on one in-memory
// switch (stacktest.Pair), impairing both of their links with spec.
func pair(t *testing.T, spec string) (a, b *stack.Stack) {
	t.Helper()
	return stacktest.PairWith(t, impaired(t, spec))
}

// impaired wraps each port in stacktest.Impair(spec), seeded by the
// port's MAC.
func impaired(t *testing.T, spec string) func(inet.MAC, netif.Device) netif.Device {
	return func(mac inet.MAC, port netif.Device) netif.Device {
		return stacktest.Impair(t, port, spec, uint64(mac[5]))
	}
}

func TestTwoStacksARP(t *testing.T) {
	a, b := pair(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mac, err := a.LayersLocked().ARP.Query(ctx, inet.MustParseAddr4("10.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	if mac != b.Device().MAC() {
		t.Fatalf("resolved %v, want %v", mac, b.Device().MAC())
	}
}

// udpExchange sends datagrams of the given sizes from A to an echo socket
// on B and checks each echo byte for byte. Under loss it retries.
func udpExchange(t *testing.T, a, b *stack.Stack, sizes []int, lossy bool) {
	t.Helper()
	udpExchangeTo(t, a, b, netip.MustParseAddr("10.0.0.2"), sizes, lossy)
}

// udpExchangeTo is udpExchange to B's address dst, IPv4 or IPv6: B's
// echo socket is dual-stack.
func udpExchangeTo(t *testing.T, a, b *stack.Stack, dst netip.Addr, sizes []int, lossy bool) {
	t.Helper()
	srv, err := b.UDP().Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := srv.ReadFromAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToAddrPort(buf[:n], from)
		}
	}()
	cl, err := a.UDP().Dial(netip.AddrPortFrom(dst, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	buf := make([]byte, 65536)
	for _, size := range sizes {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i*7 + size)
		}
		want := sha256.Sum256(msg)
		ok := false
		for try := 0; try < 40 && !ok; try++ {
			if _, err := cl.Write(msg); err != nil {
				t.Fatalf("size %d: write: %v", size, err)
			}
			cl.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			for {
				n, err := cl.Read(buf)
				if err != nil {
					break // timeout: retry
				}
				if n == size && sha256.Sum256(buf[:n]) == want {
					ok = true
					break
				}
				if !lossy {
					t.Fatalf("size %d: echo of %d bytes differs", size, n)
				}
			}
		}
		if !ok {
			t.Fatalf("size %d: no intact echo", size)
		}
	}
}

func TestTwoStacksUDP(t *testing.T) {
	a, b := pair(t, "")
	udpExchange(t, a, b, []int{0, 1, 64, 1472, 1473, 20000}, false)
	if st := b.Stats().IP; st.Reassembled == 0 {
		t.Fatalf("20 KB datagram was not reassembled on B: %+v", st)
	}
}

func TestTwoStacksUDPImpaired(t *testing.T) {
	a, b := pair(t, "loss=0.02,reorder=0.05,dup=0.01,corrupt=0.001,delay=1ms")
	udpExchange(t, a, b, []int{1, 1472, 20000}, true)
}

func TestUDPDataIsCopiedOnce(t *testing.T) {
	// The datagram handed to WriteTo may be reused at once: the stack
	// must have copied it.
	a, b := pair(t, "")
	srv, _ := b.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:9"))
	defer srv.Close()
	cl, _ := a.UDP().Dial(netip.MustParseAddrPort("10.0.0.2:9"))
	defer cl.Close()
	msg := []byte("first")
	cl.Write(msg)
	copy(msg, "XXXXX")
	buf := make([]byte, 16)
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := srv.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("first")) {
		t.Fatalf("got %q %v", buf[:n], err)
	}
}

func ping(t *testing.T, a *stack.Stack, dst string, tries int) {
	t.Helper()
	data := []byte("mirago ping payload 0123456789")
	for i := 0; i < tries; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := a.Ping(ctx, inet.AddrFrom4(inet.MustParseAddr4(dst)), data)
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("no echo reply from %s in %d tries", dst, tries)
}

func TestTwoStacksPing(t *testing.T) {
	a, b := pair(t, "")
	ping(t, a, "10.0.0.2", 1)
	ping(t, b, "10.0.0.1", 1)
	if st := b.Stats().ICMP; st.EchoRequestsIn != 1 || st.EchoRepliesOut != 1 {
		t.Fatalf("B's ICMP stats %+v", st)
	}
}

func TestTwoStacksPingImpaired(t *testing.T) {
	a, _ := pair(t, "loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=2ms")
	for i := 0; i < 10; i++ {
		ping(t, a, "10.0.0.2", 20)
	}
}

// tcpBothWays moves size bytes each way at once over one TCP connection
// between A and B and checks both SHA-256 digests.
func tcpBothWays(t *testing.T, a, b *stack.Stack, size int64) {
	t.Helper()
	tcpBothWaysTo(t, a, b, netip.MustParseAddr("10.0.0.2"), size)
}

// tcpBothWaysTo is tcpBothWays to B's address dst (B listens dual-stack).
func tcpBothWaysTo(t *testing.T, a, b *stack.Stack, dst netip.Addr, size int64) {
	t.Helper()
	ln, err := b.TCP().Listen(5001)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		acc <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, err := a.TCP().Dial(ctx, netip.AddrPortFrom(dst, 5001))
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb := <-acc
	if cb == nil {
		t.FailNow()
	}
	defer cb.Close()
	exchange(t, ca, cb, size)
}

func TestTwoStacksTCP(t *testing.T) {
	a, b := pair(t, "")
	tcpBothWays(t, a, b, 16<<20)
}

func TestTwoStacksTCPImpaired(t *testing.T) {
	// Real time, so milder than the virtual-time fault suite in
	// stack/tcp (5% loss, 5% reorder, 1% dup, 0.1% corrupt, 20 ms delay,
	// 64 MiB each way, in virtual time).
	a, b := pair(t, "loss=0.01,reorder=0.02,dup=0.01,corrupt=0.001,delay=1ms")
	tcpBothWays(t, a, b, 4<<20)
}

// TestTwoStacksTCPOffload runs two stacks on ports with a virtio-net
// device's offloads (memlink Config.Offload): 64 MiB each way, SHA-256
// checked, goes out in TSO segments with the checksums left to the
// device, and comes in as large segments taken as verified.
func TestTwoStacksTCPOffload(t *testing.T) {
	a, b := stacktest.PairSwitch(t, memlink.Config{Offload: true}, stack.Config{}, impaired(t, ""))
	tcpBothWays(t, a, b, 64<<20)
	checkOffloadUsed(t, a, b, false)
}

// TestTwoStacksTCPOffloadImpaired is TestTwoStacksTCPOffload with faults
// on both links: a TSO frame is lost, duplicated, reordered or corrupted
// whole, and a corrupted one has its checksum completed before the flip
// (drivers/impair), so the receiver drops it.
func TestTwoStacksTCPOffloadImpaired(t *testing.T) {
	a, b := stacktest.PairSwitch(t, memlink.Config{Offload: true}, stack.Config{}, impaired(t, "loss=0.01,reorder=0.02,dup=0.01,corrupt=0.002"))
	tcpBothWays(t, a, b, 64<<20)
	checkOffloadUsed(t, a, b, true)
}

func checkOffloadUsed(t *testing.T, a, b *stack.Stack, corrupt bool) {
	t.Helper()
	for i, s := range []*stack.Stack{a, b} {
		st := s.Stats().TCP
		t.Logf("stack %d: %d segments out, %d TSO; %d large in; %d checksums offloaded; %d retransmits, %d checksum drops",
			i, st.SegmentsOut, st.LargeSegmentsOut, st.LargeSegmentsIn, st.ChecksumsOffloaded, st.Retransmits, st.Drops[tcp.DropChecksum])
		if st.LargeSegmentsOut == 0 || st.LargeSegmentsIn == 0 || st.ChecksumsOffloaded == 0 {
			t.Errorf("stack %d: offloads unused", i)
		}
	}
	if drops := a.Stats().TCP.Drops[tcp.DropChecksum] + b.Stats().TCP.Drops[tcp.DropChecksum]; corrupt && drops == 0 {
		t.Error("frames were corrupted but no segment failed its checksum")
	}
}
