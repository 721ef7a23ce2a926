package dns

import (
	"strings"
)

// Name limits (RFC 1035 §2.3.4).
const (
	maxLabelLen = 63
	maxNameLen  = 255 // wire octets, length bytes and the root label included
	headerLen   = 12
)

// readName decodes the possibly compressed name at off in msg (RFC 1035
// §4.1.4) and returns it in presentation form without the trailing dot
// ("." for the root) and the offset just after it.
//
// RFC 9267 §2 checks: every compression pointer must point strictly before
// the start of the labels currently being read and past the header, so
// each jump goes backwards and no loop (self-reference, cycle, forward
// pointer) can be followed; the target must lie inside the message; labels
// with the reserved 0x40/0x80 prefixes are rejected; the expanded name may
// not exceed 255 octets.
func readName(msg []byte, off int) (string, int, error) {
	var sb strings.Builder
	pos, start, next, wire := off, off, -1, 0
	for {
		if pos >= len(msg) {
			return "", 0, &ParseError{pos, ErrTruncated}
		}
		l := int(msg[pos])
		switch l & 0xc0 {
		case 0x00:
			if l == 0 {
				if next < 0 {
					next = pos + 1
				}
				if sb.Len() == 0 {
					return ".", next, nil
				}
				return sb.String(), next, nil
			}
			if pos+1+l > len(msg) {
				return "", 0, &ParseError{pos, ErrTruncated}
			}
			wire += 1 + l
			if wire+1 > maxNameLen {
				return "", 0, &ParseError{pos, ErrNameTooLong}
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			writeLabel(&sb, msg[pos+1:pos+1+l])
			pos += 1 + l
		case 0xc0:
			if pos+1 >= len(msg) {
				return "", 0, &ParseError{pos, ErrTruncated}
			}
			ptr := (l&0x3f)<<8 | int(msg[pos+1])
			if next < 0 {
				next = pos + 2
			}
			if ptr >= start || ptr < headerLen {
				return "", 0, &ParseError{pos, ErrPointer}
			}
			pos, start = ptr, ptr
		default:
			return "", 0, &ParseError{pos, ErrLabel}
		}
	}
}

// writeLabel writes a label in presentation form, escaping dots,
// backslashes and non-printable octets as \DDD (RFC 4343 §2.1).
func writeLabel(sb *strings.Builder, l []byte) {
	for _, c := range l {
		if c <= ' ' || c >= 0x7f || c == '.' || c == '\\' {
			sb.WriteByte('\\')
			sb.WriteByte('0' + c/100)
			sb.WriteByte('0' + c/10%10)
			sb.WriteByte('0' + c%10)
			continue
		}
		sb.WriteByte(c)
	}
}

// appendName appends name (dotted, trailing dot optional) in uncompressed
// wire form. Labels are limited to printable ASCII other than '.' and
// '\\', so that the name echoed in a response decodes to the same text
// (no escapes are needed).
func appendName(b []byte, name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return append(b, 0), nil
	}
	if len(name)+2 > maxNameLen {
		return b, ErrBadName
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > maxLabelLen {
			return b, ErrBadName
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; c <= ' ' || c >= 0x7f || c == '\\' {
				return b, ErrBadName
			}
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0), nil
}

// canonicalName returns name without a trailing dot and in lower case, the
// key form used to compare names (RFC 4343: ASCII case-insensitive).
func canonicalName(name string) string {
	if name != "." {
		name = strings.TrimSuffix(name, ".")
	}
	return strings.ToLower(name)
}

// sameName reports whether two presentation-form names are equal, ignoring
// ASCII case and a trailing dot.
func sameName(a, b string) bool {
	if a != "." {
		a = strings.TrimSuffix(a, ".")
	}
	if b != "." {
		b = strings.TrimSuffix(b, ".")
	}
	return strings.EqualFold(a, b)
}
