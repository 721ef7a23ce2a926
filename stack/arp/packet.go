// Package arp resolves IPv4 next hops to Ethernet addresses (RFC 826) with
// a bounded, aged cache (RFC 1122 §2.3.2), answers requests for our
// addresses, announces them (RFC 5227 §2.3) and reports conflicts
// (RFC 5227 §2.4).
//
// The Layer is the ipv4 Link: Output sends an IPv4 packet to a next hop,
// queueing it while the address is resolved.
//
// Not supported: ARP probing before use (RFC 5227 §2.1; the DHCP client
// does it through OnConflict), proxy ARP, hardware types other than
// Ethernet, static entries.
package arp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// PacketLen is the length of an Ethernet/IPv4 ARP packet (RFC 826).
const PacketLen = 28

// Field values for Ethernet/IPv4 (RFC 826; IANA ARP parameters).
const (
	HardwareEthernet uint16 = 1
	OpRequest        uint16 = 1
	OpReply          uint16 = 2
)

// Parse errors, one per malformation; the Layer counts each separately.
var (
	ErrShort        = errors.New("arp: packet too short")
	ErrHardwareType = errors.New("arp: hardware type is not Ethernet")
	ErrProtocolType = errors.New("arp: protocol type is not IPv4")
	ErrHardwareLen  = errors.New("arp: hardware address length is not 6")
	ErrProtocolLen  = errors.New("arp: protocol address length is not 4")
	ErrOp           = errors.New("arp: opcode is neither request nor reply")
)

// Packet is a view over an Ethernet/IPv4 ARP packet. Once ParsePacket
// accepted it, no accessor panics.
type Packet []byte

// ParsePacket checks b's fixed fields and length and returns the first
// PacketLen bytes as a Packet (trailing Ethernet padding is ignored).
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < 8 {
		return nil, ErrShort
	}
	switch {
	case binary.BigEndian.Uint16(b[0:2]) != HardwareEthernet:
		return nil, ErrHardwareType
	case binary.BigEndian.Uint16(b[2:4]) != inet.EtherTypeIPv4:
		return nil, ErrProtocolType
	case b[4] != 6:
		return nil, ErrHardwareLen
	case b[5] != 4:
		return nil, ErrProtocolLen
	case len(b) < PacketLen:
		return nil, ErrShort
	}
	if op := binary.BigEndian.Uint16(b[6:8]); op != OpRequest && op != OpReply {
		return nil, ErrOp
	}
	return Packet(b[:PacketLen]), nil
}

// Op is the opcode, OpRequest or OpReply.
func (p Packet) Op() uint16 { return binary.BigEndian.Uint16(p[6:8]) }

// SenderMAC is the sender hardware address (sha).
func (p Packet) SenderMAC() inet.MAC { return inet.MAC(p[8:14]) }

// SenderIP is the sender protocol address (spa).
func (p Packet) SenderIP() inet.Addr4 { return inet.Addr4(p[14:18]) }

// TargetMAC is the target hardware address (tha).
func (p Packet) TargetMAC() inet.MAC { return inet.MAC(p[18:24]) }

// TargetIP is the target protocol address (tpa).
func (p Packet) TargetIP() inet.Addr4 { return inet.Addr4(p[24:28]) }

// Fields is the variable part of an Ethernet/IPv4 ARP packet.
type Fields struct {
	Op        uint16
	SenderMAC inet.MAC
	SenderIP  inet.Addr4
	TargetMAC inet.MAC
	TargetIP  inet.Addr4
}

// Fields returns p's variable fields.
func (p Packet) Fields() Fields {
	return Fields{p.Op(), p.SenderMAC(), p.SenderIP(), p.TargetMAC(), p.TargetIP()}
}

// Len is the length Encode writes: PacketLen.
func (f *Fields) Len() int { return PacketLen }

// Encode writes f as an Ethernet/IPv4 ARP packet into b[:PacketLen] and
// returns PacketLen, or inet.ErrBufTooSmall if b is shorter.
func (f *Fields) Encode(b []byte) (int, error) {
	if len(b) < PacketLen {
		return 0, inet.ErrBufTooSmall
	}
	binary.BigEndian.PutUint16(b[0:2], HardwareEthernet)
	binary.BigEndian.PutUint16(b[2:4], inet.EtherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:8], f.Op)
	copy(b[8:14], f.SenderMAC[:])
	copy(b[14:18], f.SenderIP[:])
	copy(b[18:24], f.TargetMAC[:])
	copy(b[24:28], f.TargetIP[:])
	return PacketLen, nil
}

// IsGratuitous reports whether p announces its sender's own binding
// (spa == tpa, RFC 5227 §2.3 / RFC 5944 §4.6).
func (p Packet) IsGratuitous() bool { return p.SenderIP() == p.TargetIP() }
