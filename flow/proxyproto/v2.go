package proxyproto

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// v2 (proxy-protocol.txt §2.2): the 12-byte signature, then
//
//	ver_cmd (1): version 2 in the high nibble, command in the low one
//	fam     (1): address family high, transport low
//	len     (2): bytes that follow, big-endian
//	address block (0, 12, 36 or 216 bytes), then TLVs to the end.

var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Family and transport bytes of §2.2, the only ones accepted.
const (
	famUnspec = 0x00
	famTCP4   = 0x11
	famUDP4   = 0x12
	famTCP6   = 0x21
	famUDP6   = 0x22
	famUnixS  = 0x31
	famUnixD  = 0x32
)

// addrLen is the address block's size per family byte.
func addrLen(fam byte) (int, bool) {
	switch fam {
	case famUnspec:
		return 0, true
	case famTCP4, famUDP4:
		return 12, true
	case famTCP6, famUDP6:
		return 36, true
	case famUnixS, famUnixD:
		return 216, true
	}
	return 0, false
}

// parseV2 parses a v2 header at the start of b (b[0] == '\r').
func parseV2(b []byte, max int) (Header, int, error) {
	n := min(len(b), len(sigV2))
	if !bytes.Equal(b[:n], sigV2[:n]) {
		return Header{}, 0, &Error{Reason: "neither the v1 nor the v2 signature"}
	}
	if len(b) < 16 {
		if len(b) > 12 && b[12] != 0x20 && b[12] != 0x21 {
			return Header{}, 0, v2Err("version or command not 2/LOCAL or 2/PROXY")
		}
		if len(b) > 13 {
			if _, ok := addrLen(b[13]); !ok {
				return Header{}, 0, v2Err("unknown address family or transport")
			}
		}
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2}
	switch b[12] {
	case 0x20:
		h.Command = Local
	case 0x21:
		h.Command = Proxy
	default:
		return h, 0, v2Err("version or command not 2/LOCAL or 2/PROXY")
	}
	fam := b[13]
	alen, ok := addrLen(fam)
	if !ok {
		return h, 0, v2Err("unknown address family or transport")
	}
	total := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if total > max {
		return h, 0, v2Err("longer than the bound")
	}
	if total-16 < alen {
		return h, 0, v2Err("length shorter than the address block")
	}
	if len(b) < total {
		return Header{}, 0, ErrIncomplete
	}
	hdr := b[:total]
	addr := hdr[16 : 16+alen]
	switch fam {
	case famTCP4, famUDP4:
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addr[0:4])), binary.BigEndian.Uint16(addr[8:10]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addr[4:8])), binary.BigEndian.Uint16(addr[10:12]))
	case famTCP6, famUDP6:
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addr[0:16])), binary.BigEndian.Uint16(addr[32:34]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addr[16:32])), binary.BigEndian.Uint16(addr[34:36]))
	}
	switch fam {
	case famTCP4, famTCP6:
		h.Transport = TCP
	case famUDP4, famUDP6:
		h.Transport = UDP
	}
	if err := h.parseTLVs(hdr, 16+alen); err != nil {
		return h, 0, err
	}
	if h.Command == Local {
		// §2.2: for LOCAL the receiver ignores the address block.
		h.Transport, h.Source, h.Dest = Unknown, netip.AddrPort{}, netip.AddrPort{}
	}
	return h, total, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// parseTLVs parses the TLVs from hdr[off:] to the end, which they must
// fill exactly, and checks a CRC32c TLV (§2.2.5) against the header.
func (h *Header) parseTLVs(hdr []byte, off int) error {
	crcAt := -1
	for rest := hdr[off:]; len(rest) > 0; {
		if len(rest) < 3 {
			return v2Err("bytes after the last TLV")
		}
		t, l := rest[0], int(binary.BigEndian.Uint16(rest[1:3]))
		if len(rest) < 3+l {
			return v2Err("TLV longer than the header")
		}
		if t == TypeCRC32C {
			if l != 4 || crcAt >= 0 {
				return v2Err("bad or repeated CRC32c TLV")
			}
			crcAt = len(hdr) - len(rest) + 3
		}
		h.TLVs = append(h.TLVs, TLV{Type: t, Value: bytes.Clone(rest[3 : 3+l])})
		rest = rest[3+l:]
	}
	if crcAt >= 0 {
		want := binary.BigEndian.Uint32(hdr[crcAt:])
		c := crc32.Update(0, castagnoli, hdr[:crcAt])
		c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
		c = crc32.Update(c, castagnoli, hdr[crcAt+4:])
		if c != want {
			return v2Err("CRC32c mismatch")
		}
	}
	return nil
}

// AppendV2 appends h as a v2 header to b, with h.TLVs. A header that
// relays no client (Local, or Unknown transport) is written as LOCAL with
// no addresses; an IPv4 address beside an IPv6 one is written
// IPv4-mapped.
func (h *Header) AppendV2(b []byte) []byte {
	start := len(b)
	b = append(b, sigV2...)
	var fam byte
	var addr []byte
	if h.Relayed() && h.Dest.IsValid() {
		src, dst := h.Source.Addr(), h.Dest.Addr()
		if src.Is4() && dst.Is4() {
			fam = famTCP4
			addr = append(append(addr, src.AsSlice()...), dst.AsSlice()...)
		} else {
			fam = famTCP6
			s16, d16 := src.As16(), dst.As16()
			addr = append(append(addr, s16[:]...), d16[:]...)
		}
		if h.Transport == UDP {
			fam++
		}
		addr = binary.BigEndian.AppendUint16(addr, h.Source.Port())
		addr = binary.BigEndian.AppendUint16(addr, h.Dest.Port())
		b = append(b, 0x21, fam)
	} else {
		b = append(b, 0x20, famUnspec)
	}
	lenAt := len(b)
	b = append(b, 0, 0)
	b = append(b, addr...)
	for _, t := range h.TLVs {
		b = append(b, t.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
		b = append(b, t.Value...)
	}
	binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-start-16))
	return b
}
