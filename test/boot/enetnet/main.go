//go:build tamago && arm

// Command enetnet is a boot test for the USB armory board under QEMU's
// mcimx6ul-evk: it brings up the ENET, asks QEMU's user network for the
// gateway's MAC with an ARP request (who-has 10.0.2.2 tell 10.0.2.15) and
// prints the reply. It then sends a burst of requests, more than the
// 16-descriptor rings hold, and wants every reply and no allocation in
// Transmit, and checks that a 100 ms sleep (the CPU idling in WFI) lasts
// about 100 ms. It exits through semihosting with status 0, or 1 on any
// failure. board/usbarmory's TestBootENET builds and boots it.
package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/mirago/mirago/board/usbarmory"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

var (
	ourIP     = netip.MustParseAddr("10.0.2.15")
	gatewayIP = netip.MustParseAddr("10.0.2.2")
)

const (
	tries    = 10
	interval = 500 * time.Millisecond
	burst    = 40
)

func main() {
	code := run()
	usbarmory.Exit(code)
}

func run() int {
	if err := usbarmory.Init(); err != nil {
		fmt.Println("enetnet: FAIL init:", err)
		return 1
	}
	dev, err := usbarmory.Net()
	if err != nil {
		fmt.Println("enetnet: FAIL net:", err)
		return 1
	}
	replies := make(chan inet.MAC, burst)
	dev.SetHandler(func(f []byte, _ netif.RxMeta) {
		if mac, ok := arpReplyFrom(f, gatewayIP); ok {
			select {
			case replies <- mac:
			default:
			}
		}
	})

	req := pkt.New(64, 0)
	encodeARPRequest(req.Append(arpFrameLen), dev.MAC(), ourIP, gatewayIP)
	for i := range tries {
		if err := dev.Transmit(req); err != nil {
			fmt.Println("enetnet: transmit:", err)
		}
		select {
		case mac := <-replies:
			fmt.Printf("enetnet: ARP reply: %v is at %v (after %d request(s))\n", gatewayIP, mac, i+1)
			return more(dev, req, replies)
		case <-time.After(interval):
		}
	}
	fmt.Printf("enetnet: FAIL no ARP reply from %v; stats %+v\n", gatewayIP, dev.Stats())
	return 1
}

// more checks a burst (more frames than the 16-descriptor rings hold) and
// that timers still fire when the CPU idles in WFI.
func more(dev netif.Device, req *pkt.Buf, replies chan inet.MAC) int {
	for len(replies) > 0 {
		<-replies
	}
	busy := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range burst {
		for dev.Transmit(req) == netif.ErrBusy {
			busy++
			time.Sleep(time.Millisecond)
		}
	}
	runtime.ReadMemStats(&after)
	// Nothing else runs during the loop (one core, no preemption), so
	// this counts Transmit's allocations.
	txAllocs := after.Mallocs - before.Mallocs
	got := 0
	deadline := time.After(2 * time.Second)
wait:
	for got < burst {
		select {
		case <-replies:
			got++
		case <-deadline:
			break wait
		}
	}
	fmt.Printf("enetnet: burst of %d requests: %d replies, %d busy retries, %d allocations in Transmit\n", burst, got, busy, txAllocs)

	t0 := time.Now()
	time.Sleep(100 * time.Millisecond)
	slept := time.Since(t0)
	fmt.Printf("enetnet: idle sleep of 100ms took %v\n", slept.Round(time.Millisecond))
	fmt.Printf("enetnet: stats %+v link %v\n", dev.Stats(), dev.LinkUp())

	if got != burst || (busy == 0 && txAllocs != 0) || slept < 100*time.Millisecond || slept > time.Second {
		fmt.Println("enetnet: FAIL")
		return 1
	}
	if !clockCheck() {
		return 1
	}
	fmt.Println("enetnet: PASS")
	return 0
}

// ARP over Ethernet for IPv4 (RFC 826): 14-byte Ethernet header, 28-byte
// ARP packet.
const arpFrameLen = 14 + 28

func encodeARPRequest(b []byte, src inet.MAC, sip, tip netip.Addr) {
	copy(b[0:6], inet.BroadcastMAC[:])
	copy(b[6:12], src[:])
	b[12], b[13] = 0x08, 0x06                    // EtherType ARP
	copy(b[14:], []byte{0, 1, 8, 0, 6, 4, 0, 1}) // Ethernet, IPv4, hlen 6, plen 4, request
	copy(b[22:28], src[:])
	s, t := sip.As4(), tip.As4()
	copy(b[28:32], s[:])
	clear(b[32:38])
	copy(b[38:42], t[:])
}

// arpReplyFrom reports the sender MAC of an ARP reply from ip.
func arpReplyFrom(f []byte, ip netip.Addr) (inet.MAC, bool) {
	if len(f) < arpFrameLen || f[12] != 0x08 || f[13] != 0x06 {
		return inet.MAC{}, false
	}
	a := f[14:]
	want := ip.As4()
	if !bytes.Equal(a[0:8], []byte{0, 1, 8, 0, 6, 4, 0, 2}) || !bytes.Equal(a[14:18], want[:]) {
		return inet.MAC{}, false
	}
	return inet.MAC(a[8:14]), true
}
