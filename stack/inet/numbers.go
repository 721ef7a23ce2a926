package inet

// EtherTypes (IEEE 802 numbers registry) the stack dispatches on or
// recognises to drop.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeVLAN uint16 = 0x8100 // IEEE 802.1Q tag
	EtherTypeQinQ uint16 = 0x88a8 // IEEE 802.1ad service tag
	EtherTypeIPv6 uint16 = 0x86dd
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"): the
// IPv4 Protocol field and the IPv6 Next Header field share them.
const (
	ProtoHopByHop uint8 = 0  // IPv6 hop-by-hop options (RFC 8200 §4.3)
	ProtoICMP     uint8 = 1  // ICMP for IPv4 (RFC 792)
	ProtoTCP      uint8 = 6  // RFC 9293
	ProtoUDP      uint8 = 17 // RFC 768
	ProtoRouting  uint8 = 43 // IPv6 routing header (RFC 8200 §4.4)
	ProtoFragment uint8 = 44 // IPv6 fragment header (RFC 8200 §4.5)
	ProtoICMPv6   uint8 = 58 // RFC 4443
	ProtoNoNext   uint8 = 59 // IPv6 no next header (RFC 8200 §4.7)
	ProtoDestOpts uint8 = 60 // IPv6 destination options (RFC 8200 §4.6)
)
