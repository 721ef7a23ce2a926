package dhcp

import (
	"encoding/binary"
	"errors"

	"github.com/mirago/mirago/stack/inet"
)

// BOOTP/DHCP constants (RFC 2131 §2, §4.1; RFC 951).
const (
	OpRequest     uint8 = 1 // BOOTREQUEST
	OpReply       uint8 = 2 // BOOTREPLY
	HTypeEthernet uint8 = 1
	ClientPort          = 68
	ServerPort          = 67
	// FlagBroadcast asks the server to broadcast its replies (RFC 2131
	// §4.1), for a client that cannot receive unicast before it has an
	// address.
	FlagBroadcast uint16 = 0x8000

	fixedLen = 236                // op..file
	minLen   = fixedLen + 4       // plus the magic cookie
	minSize  = 300                // BOOTP minimum message size (RFC 951, RFC 1542 §2.1)
	snameOff = 44                 // sname[64]
	fileOff  = snameOff + 64      // file[128]
	optOff   = fixedLen + 4       // options after the cookie
	cookie   = uint32(0x63825363) // 99.130.83.99 (RFC 2131 §3)
)

// MessageType is option 53 (RFC 2132 §9.6).
type MessageType uint8

// DHCP message types.
const (
	Discover MessageType = 1
	Offer    MessageType = 2
	Request  MessageType = 3
	Decline  MessageType = 4
	Ack      MessageType = 5
	Nak      MessageType = 6
	Release  MessageType = 7
	Inform   MessageType = 8
)

// Parse errors.
var (
	ErrShort           = errors.New("dhcp: message shorter than 240 bytes")
	ErrMagic           = errors.New("dhcp: bad magic cookie")
	ErrHLen            = errors.New("dhcp: hardware address length above 16")
	ErrOptionTruncated = errors.New("dhcp: option runs past the end")
	ErrNoEnd           = errors.New("dhcp: options not terminated by the end option")
	ErrOptionLength    = errors.New("dhcp: bad option length")
)

// Message is a decoded DHCP message. sname and file are not kept; when
// option 52 says they carry options, those are merged into Options.
type Message struct {
	Op      uint8
	HType   uint8
	HLen    uint8
	Hops    uint8
	XID     uint32
	Secs    uint16
	Flags   uint16
	CIAddr  inet.Addr4 // client's current address (RENEWING, REBINDING, RELEASE)
	YIAddr  inet.Addr4 // "your" address: the one offered or assigned
	SIAddr  inet.Addr4 // next server (BOOTP), not the server identifier
	GIAddr  inet.Addr4 // relay agent
	CHAddr  [16]byte
	Options Options
}

// Type returns the DHCP message type (option 53), 0 for plain BOOTP.
func (m *Message) Type() MessageType { return m.Options.MessageType() }

// ParseMessage decodes a DHCP message. It never panics; Option data may
// alias b. Option overload (52) is honoured: the file and then the sname
// field are parsed as options too (RFC 2131 §4.1, RFC 3396 §5).
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < minLen {
		return nil, ErrShort
	}
	if binary.BigEndian.Uint32(b[fixedLen:]) != cookie {
		return nil, ErrMagic
	}
	m := &Message{
		Op:     b[0],
		HType:  b[1],
		HLen:   b[2],
		Hops:   b[3],
		XID:    binary.BigEndian.Uint32(b[4:]),
		Secs:   binary.BigEndian.Uint16(b[8:]),
		Flags:  binary.BigEndian.Uint16(b[10:]),
		CIAddr: inet.Addr4(b[12:16]),
		YIAddr: inet.Addr4(b[16:20]),
		SIAddr: inet.Addr4(b[20:24]),
		GIAddr: inet.Addr4(b[24:28]),
	}
	if m.HLen > 16 {
		return nil, ErrHLen
	}
	copy(m.CHAddr[:], b[28:44])
	o, err := parseOptions(b[optOff:], nil, true)
	if err != nil {
		return nil, err
	}
	if ov, ok := o.Get(OptOverload); ok && len(ov) == 1 {
		if ov[0]&1 != 0 {
			if o, err = parseOptions(b[fileOff:fileOff+128], o, false); err != nil {
				return nil, err
			}
		}
		if ov[0]&2 != 0 {
			if o, err = parseOptions(b[snameOff:snameOff+64], o, false); err != nil {
				return nil, err
			}
		}
	}
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	m.Options = o
	return m, nil
}

// Len is the length Encode writes: the fixed part, the magic cookie, the
// options (each longer than 255 bytes split, RFC 3396) and the end
// option, padded to the 300-byte BOOTP minimum.
func (m *Message) Len() int {
	n := minLen + 1
	for _, x := range m.Options {
		n += len(x.Data) + 2*max(1, (len(x.Data)+254)/255)
	}
	return max(n, minSize)
}

// Encode writes m (sname and file empty) into b[:m.Len()] and returns
// m.Len(), or inet.ErrBufTooSmall if b is shorter.
func (m *Message) Encode(b []byte) (int, error) {
	n := m.Len()
	if len(b) < n {
		return 0, inet.ErrBufTooSmall
	}
	m.appendTo(b[:0])
	return n, nil
}

// appendTo appends m's encoding to b (Encode gives it room for all of it).
func (m *Message) appendTo(b []byte) []byte {
	start := len(b)
	b = append(b, m.Op, m.HType, m.HLen, m.Hops)
	b = binary.BigEndian.AppendUint32(b, m.XID)
	b = binary.BigEndian.AppendUint16(b, m.Secs)
	b = binary.BigEndian.AppendUint16(b, m.Flags)
	b = append(b, m.CIAddr[:]...)
	b = append(b, m.YIAddr[:]...)
	b = append(b, m.SIAddr[:]...)
	b = append(b, m.GIAddr[:]...)
	b = append(b, m.CHAddr[:]...)
	b = append(b, make([]byte, 64+128)...)
	b = binary.BigEndian.AppendUint32(b, cookie)
	b = appendOptions(b, m.Options)
	if n := len(b) - start; n < minSize {
		b = append(b, make([]byte, minSize-n)...)
	}
	return b
}
