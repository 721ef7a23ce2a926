//go:build tamago && qemuvirt

// Command gvecho is the echo appliance of app/echo rebuilt on gVisor's
// netstack (gvisor.dev/gvisor/pkg/tcpip) instead of mirago's stack, for the
// "image" workload of package bench: the same board (board/qemu-virt), the
// same virtio-net driver (drivers/virtio, as a netif.Device), the same
// link-time settings (internal/buildcfg IP, GW, PORT), and the same
// services: RFC 862 echo over TCP and UDP on PORT, ICMP echo (answered by
// the stack).
//
// The driver is wrapped as a gVisor stack.LinkEndpoint (see link.go):
// received frames are copied once into a gVisor buffer and injected into
// the stack on the driver's receive goroutine; transmitted packets are
// handed to the driver as a pkt.Buf that refers to gVisor's buffers, so
// the driver's copy into its DMA slot is the only copy, as for mirago.
// The gVisor stack has IPv4, ARP, TCP (CUBIC, SACK, Nagle, 256 KiB
// buffers as in bench/gvnet), UDP and ICMP, with 10.0.2.15/24 and a
// default route via 10.0.2.2 (QEMU user networking) unless IP and GW say
// otherwise; and IPv6 as mirago's image has it by default: link-local
// address, DAD, router solicitation, SLAAC from router advertisements
// (RFC 7217 identifiers), MLD and ICMPv6, with dual-stack echo sockets.
//
// It builds only for the board (GOOS=tamago GOARCH=arm, tag qemuvirt):
//
//	GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=arm GOARM=7 \
//	  $(go tool -n github.com/usbarmory/tamago/cmd/tamago) build -tags qemuvirt,linkcpuinit \
//	  -trimpath -ldflags "-T 0x40101000 -R 0x1000" -o gvecho-qemu-virt.elf ./bench/image/gvecho
//
// bench.BuildImages does that, next to `make image APP=echo`.
package main
