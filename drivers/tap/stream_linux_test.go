package tap_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// pattern returns n bytes that differ from one 1460-byte segment to the
// next, so that a segment delivered twice, dropped or out of place shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/1459)
	}
	return b
}

// TestStreamToKernel sends a stream from our stack to a kernel socket over
// the TAP and checks every byte: the transmit ring and the coalescing of
// TCP segments into GSO writes must deliver the stream intact.
func TestStreamToKernel(t *testing.T) {
	size := 64 << 20
	if os.Getenv("MIRAGO_QUICK") != "" || testing.Short() {
		size = 16 << 20
	}
	for _, plain := range []bool{false, true} {
		name := "vnet"
		if plain {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) { streamToKernel(t, size, plain) })
	}
}

func streamToKernel(t *testing.T, size int, plain bool) {
	tp := taptest.New(t)
	dev := tp.Dev
	if plain {
		// Reopen the interface without IFF_VNET_HDR.
		dev.Close()
		var err error
		dev, err = tap.Open(tp.Name, tap.Options{MTU: 1500, SetMTU: true, BringUp: true, PlainFrames: true})
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		taptest.Run(t, "ip", "addr", "replace", tp.Kernel.String()+"/24", "dev", tp.Name)
	}
	s, err := stack.New(dev, stack.Config{Addr: tp.Ours, TCP: tcp.Config{SendBuffer: 1 << 20, RecvBuffer: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kl, err := net.Listen("tcp4", netip.AddrPortFrom(tp.Kernel, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	want := pattern(size)
	got := make(chan []byte, 1)
	go func() {
		c, err := kl.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.TCP().Dial(ctx, netip.MustParseAddrPort(kl.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for off := 0; off < size; off += 100000 {
		if _, err := c.Write(want[off:min(off+100000, size)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var b []byte
	select {
	case b = <-got:
	case <-time.After(90 * time.Second):
		t.Fatal("kernel sink did not finish")
	}
	el := time.Since(t0)
	if !bytes.Equal(b, want) {
		n := 0
		for n < min(len(b), len(want)) && b[n] == want[n] {
			n++
		}
		t.Fatalf("kernel received %d bytes, want %d; first difference at %d", len(b), len(want), n)
	}
	st := s.Stats()
	t.Logf("%d MiB in %v (%.2f Gbit/s); device %+v; TSO frames %d; TCP retransmits %d, RTOs %d, fast %d",
		size>>20, el, float64(size)*8/el.Seconds()/1e9, st.Device, dev.TSOSent(),
		st.TCP.Retransmits, st.TCP.RTOEvents, st.TCP.FastRetransmits)
	if plain && dev.TSOSent() != 0 {
		t.Error("TSO frames without IFF_VNET_HDR")
	}
}
