package tap

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/netif"
)

// TestReadAheadMarksMore: large frames the kernel queued while the
// handler was busy are handed up as a batch, each marked RxMeta.More
// while the reader already holds the next one.
func TestReadAheadMarksMore(t *testing.T) {
	d, kernel, _ := openTestTAP(t)
	os.WriteFile("/proc/sys/net/ipv6/conf/"+d.Name()+"/disable_ipv6", []byte("1"), 0o644)
	type rx struct {
		udp, more, end bool
	}
	ch := make(chan rx, 64)
	busy, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	d.SetHandler(func(f []byte, m netif.RxMeta) {
		if f == nil {
			ch <- rx{end: true}
			return
		}
		udp := len(f) >= 34 && f[12] == 0x08 && f[13] == 0 && f[23] == 17
		ch <- rx{udp: udp, more: m.More}
		if udp {
			once.Do(func() {
				close(busy)
				<-release // the next datagrams queue in the kernel meanwhile
			})
		}
	})
	// Datagrams to the TAP's broadcast address leave through it without
	// ARP.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(kernel[:])})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, _ := c.SyscallConn()
	rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1) })
	bcast := &net.UDPAddr{IP: net.IPv4(kernel[0], kernel[1], kernel[2], 255), Port: 9}
	// Full-sized frames (1500-byte datagrams): the reader reads ahead
	// only after those.
	payload := make([]byte, 1500-28)
	send := func(i int) {
		copy(payload, fmt.Sprint("datagram ", i))
		if _, err := c.WriteToUDP(payload, bcast); err != nil {
			t.Fatal(err)
		}
	}
	send(0)
	select {
	case <-busy:
	case <-time.After(timeout):
		t.Fatal("no datagram reached the handler")
	}
	for i := 1; i <= 3; i++ {
		send(i) // queued: the reader is in the handler
	}
	close(release)
	var udps []rx
	var last rx
	for len(udps) < 4 || last.more {
		select {
		case r := <-ch:
			last = r
			if r.udp {
				udps = append(udps, r)
			}
		case <-time.After(timeout):
			t.Fatalf("got %d datagrams, the last frame marked More: %+v", len(udps), last)
		}
	}
	// Datagrams 1 and 2 were handed up with the next one already read.
	for i := 1; i <= 2; i++ {
		if !udps[i].more {
			t.Errorf("datagram %d not marked More with datagram %d queued behind it", i, i+1)
		}
	}
}
