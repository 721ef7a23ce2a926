//go:build tamago && arm

// Command virtnet is the qemu-virt boot test: it boots the board, brings up
// virtio-net, checks that sleeping works (timer interrupt and WFI idle),
// steps and slews the clock, sends an ARP request for the gateway, prints the reply, and exits QEMU
// through semihosting with status 0 (1 on failure).
//
//	make image APP=boottest BOARD=qemu-virt && scripts/qemu.sh out/boottest-qemu-virt.elf
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

func main() {
	fmt.Println("boottest: start")
	if err := run(); err != nil {
		fmt.Println("boottest: FAIL:", err)
		qemuvirt.Exit(1)
	}
	fmt.Println("boottest: PASS")
	qemuvirt.Exit(0)
}

func run() error {
	if err := qemuvirt.Init(); err != nil {
		return err
	}
	var r [16]byte
	qemuvirt.Rand().Read(r[:])
	fmt.Printf("boottest: entropy %s, sample %x\n", qemuvirt.EntropySource(), r)

	t0 := time.Now()
	time.Sleep(50 * time.Millisecond)
	if d := time.Since(t0); d < 50*time.Millisecond || d > 2*time.Second {
		return fmt.Errorf("time.Sleep(50ms) took %v", d)
	}
	fmt.Println("boottest: sleep ok")
	if err := clockCheck(); err != nil {
		return err
	}

	dev, err := qemuvirt.Net()
	if err != nil {
		return err
	}
	prefix, err := netip.ParsePrefix(buildcfg.IP)
	if err != nil {
		return fmt.Errorf("buildcfg.IP: %v", err)
	}
	gw, err := netip.ParseAddr(buildcfg.GW)
	if err != nil {
		return fmt.Errorf("buildcfg.GW: %v", err)
	}
	replies := make(chan inet.MAC, 1)
	var nreplies atomic.Int64
	dev.SetHandler(func(f []byte, _ netif.RxMeta) {
		if mac, ok := arpReplyFrom(f, gw); ok {
			nreplies.Add(1)
			select {
			case replies <- mac:
			default:
			}
		}
	})
	req := arpRequest(dev.MAC(), prefix.Addr(), gw)
	for try := 1; try <= 5; try++ {
		b := pkt.New(dev.Headroom()+len(req), dev.Headroom())
		copy(b.Append(len(req)), req)
		if err := dev.Transmit(b); err != nil {
			return fmt.Errorf("transmit: %v", err)
		}
		fmt.Printf("boottest: ARP who-has %v tell %v (try %d)\n", gw, prefix.Addr(), try)
		select {
		case mac := <-replies:
			fmt.Printf("boottest: ARP reply: %v is at %v\n", gw, mac)
			return burst(dev, req, &nreplies)
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("no ARP reply from %v; stats %+v", gw, dev.Stats())
}

// burst sends burstFrames ARP requests as fast as Transmit takes them,
// several times around both rings, and waits for the replies: transmit
// reclaim, ErrBusy backpressure and receive refill on the real device.
func burst(dev netif.Device, req []byte, replies *atomic.Int64) error {
	const burstFrames = 1000
	start := replies.Load()
	b := pkt.New(dev.Headroom()+len(req), dev.Headroom())
	copy(b.Append(len(req)), req)
	busy := 0
	for sent := 0; sent < burstFrames; {
		switch err := dev.Transmit(b); {
		case err == nil:
			sent++
		case errors.Is(err, netif.ErrBusy):
			busy++
			runtime.Gosched()
		default:
			return fmt.Errorf("burst: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for replies.Load()-start < burstFrames && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := replies.Load() - start
	s := dev.Stats()
	fmt.Printf("boottest: burst: %d ARP requests sent (%d ErrBusy retries), %d replies\n", burstFrames, busy, got)
	fmt.Printf("boottest: stats %s\n", strings.TrimPrefix(fmt.Sprintf("%+v", s), "&"))
	if s.TxErrors != 0 || s.RxErrors != 0 || got < burstFrames*9/10 {
		return fmt.Errorf("burst: %d of %d replies, stats %+v", got, burstFrames, s)
	}
	return nil
}

// arpRequest builds an ARP request (RFC 826) for ip, broadcast.
func arpRequest(src inet.MAC, from, ip netip.Addr) []byte {
	f := make([]byte, 42)
	copy(f[0:6], inet.BroadcastMAC[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	binary.BigEndian.PutUint16(f[14:], 1)      // htype Ethernet
	binary.BigEndian.PutUint16(f[16:], 0x0800) // ptype IPv4
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 1) // request
	copy(f[22:28], src[:])
	a4, t4 := from.As4(), ip.As4()
	copy(f[28:32], a4[:])
	copy(f[38:42], t4[:])
	return f
}

// arpReplyFrom reports the sender MAC of an ARP reply from ip.
func arpReplyFrom(f []byte, ip netip.Addr) (inet.MAC, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0806 || binary.BigEndian.Uint16(f[20:]) != 2 {
		return inet.MAC{}, false
	}
	a4 := ip.As4()
	if !bytes.Equal(f[28:32], a4[:]) {
		return inet.MAC{}, false
	}
	return inet.MAC(f[22:28]), true
}
