//go:build tamago && qemuvirt

package main

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/mirago/mirago/bench/image/echoloop"
	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const (
	nicID      = 1
	bufferSize = 256 << 10 // TCP send and receive buffers, as bench/gvnet
)

func main() {
	// The console logger of app/echo images (internal/boardrun.Logger).
	log := logging.NewConsole(os.Stdout, logging.LevelInfo, "board", "qemu-virt", "stack", "gvisor")
	if err := run(log); err != nil {
		log.Error("gvecho", "err", err)
		qemuvirt.Exit(1)
		select {}
	}
}

func run(log logging.Logger) error {
	prefix, err := netip.ParsePrefix(buildcfg.IP)
	if err != nil || !prefix.Addr().Is4() {
		return errors.New("bad IP " + strconv.Quote(buildcfg.IP) + ": want an IPv4 CIDR")
	}
	var gw netip.Addr
	if buildcfg.GW != "" {
		if gw, err = netip.ParseAddr(buildcfg.GW); err != nil || !gw.Is4() {
			return errors.New("bad GW " + strconv.Quote(buildcfg.GW))
		}
	}
	port, err := strconv.ParseUint(buildcfg.PORT, 10, 16)
	if err != nil || port == 0 {
		return errors.New("bad PORT " + strconv.Quote(buildcfg.PORT))
	}
	if err := qemuvirt.Init(); err != nil {
		return err
	}
	dev, err := qemuvirt.Net()
	if err != nil {
		return err
	}
	s, err := newStack(newDevLink(dev), prefix, gw)
	if err != nil {
		return err
	}
	log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "ip", prefix.String(), "gw", gw.String())

	// Dual-stack sockets (gVisor's IPv6 endpoints take IPv4 too, as
	// IPv4-mapped addresses, unless V6Only): app/echo's listener and
	// socket take both families.
	ln, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: nicID, Port: uint16(port)}, ipv6.ProtocolNumber)
	if err != nil {
		return xerr.Wrap("tcp port "+strconv.FormatUint(port, 10), err)
	}
	uc, err := gonet.DialUDP(s, &tcpip.FullAddress{NIC: nicID, Port: uint16(port)}, nil, ipv6.ProtocolNumber)
	if err != nil {
		return xerr.Wrap("udp port "+strconv.FormatUint(port, 10), err)
	}
	go echoloop.ServeUDP(uc.ReadFrom, uc.WriteTo, log)
	log.Info("echo serving", "port", port)
	return echoloop.ServeTCP(ln)
}

// newStack builds the gVisor stack on ep with mirago's defaults where
// gVisor lets us (the same settings as bench/gvnet), and IPv6 as
// mirago's image has it: a link-local address, Duplicate Address
// Detection, router solicitation, SLAAC from router advertisements with
// RFC 7217 stable identifiers, MLD, ICMPv6.
func newStack(ep stack.LinkEndpoint, p netip.Prefix, gw netip.Addr) (*stack.Stack, error) {
	secret := make([]byte, 32)
	qemuvirt.Rand().Read(secret)
	ip6 := ipv6.NewProtocolWithOptions(ipv6.Options{
		AutoGenLinkLocal: true,
		NDPConfigs: ipv6.NDPConfigurations{
			MaxRtrSolicitations: 3, RtrSolicitationInterval: 4 * time.Second, MaxRtrSolicitationDelay: time.Second,
			HandleRAs: ipv6.HandlingRAsEnabledWhenForwardingDisabled, DiscoverDefaultRouters: true,
			DiscoverOnLinkPrefixes: true, AutoGenGlobalAddresses: true,
		},
		OpaqueIIDOpts: ipv6.OpaqueInterfaceIdentifierOptions{NICNameFromID: func(tcpip.NICID, string) string { return "eth0" }, SecretKey: secret},
		MLD:           ipv6.MLDOptions{Enabled: true},
		DADConfigs:    stack.DADConfigurations{DupAddrDetectTransmits: 1, RetransmitTimer: time.Second},
	})
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol, ip6},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocolCUBIC, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		SecureRNG:          qemuvirt.Rand(),
	})
	mod := tcpip.TCPModerateReceiveBufferOption(false)
	sack := tcpip.TCPSACKEnabled(true)
	delay := tcpip.TCPDelayEnabled(true)
	for _, o := range []tcpip.SettableTransportProtocolOption{
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: bufferSize, Max: bufferSize},
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: bufferSize, Max: bufferSize},
		&mod, &sack, &delay,
	} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
			return nil, errors.New("tcp option: " + err.String())
		}
	}
	if err := s.CreateNIC(nicID, ethernet.New(ep)); err != nil {
		return nil, errors.New("CreateNIC: " + err.String())
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(p.Addr().As4()), PrefixLen: p.Bits()},
	}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		return nil, errors.New("AddProtocolAddress: " + err.String())
	}
	routes := []tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}}
	if gw.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header4Any(), Gateway: tcpip.AddrFrom4(gw.As4()), NIC: nicID})
	}
	s.SetRouteTable(routes)
	return s, nil
}

// header4Any is 0.0.0.0/0.
func header4Any() tcpip.Subnet {
	sn, _ := tcpip.NewSubnet(tcpip.AddrFrom4([4]byte{}), tcpip.MaskFromBytes([]byte{0, 0, 0, 0}))
	return sn
}
