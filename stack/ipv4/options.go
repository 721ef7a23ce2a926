package ipv4

import "errors"

// Option types (RFC 791 §3.1, IANA "IP Option Numbers").
const (
	OptEOL       = 0   // end of option list
	OptNOP       = 1   // no operation
	OptRR        = 7   // record route
	OptTimestamp = 68  // internet timestamp
	OptLSRR      = 131 // loose source and record route
	OptSSRR      = 137 // strict source and record route
)

// ErrBadOption is reported by OptionIter for an option whose length octet
// is missing, below 2, or runs past the options area.
var ErrBadOption = errors.New("ipv4: malformed option")

// OptionIter walks option TLVs (RFC 791 §3.1) without allocating. Each
// step is bounds-checked; iteration stops at EOL, at the end, or on error.
type OptionIter struct {
	b   []byte
	err error
}

// Iter returns an iterator over opts, typically Header.Options().
func Iter(opts []byte) OptionIter { return OptionIter{b: opts} }

// Next returns the next option's type and data (the bytes after the type
// and length octets). ok is false at the end or on a malformed option
// (then Err is non-nil). NOP options are skipped.
func (it *OptionIter) Next() (typ uint8, data []byte, ok bool) {
	for len(it.b) > 0 {
		t := it.b[0]
		switch t {
		case OptEOL:
			it.b = nil
			return 0, nil, false
		case OptNOP:
			it.b = it.b[1:]
			continue
		}
		if len(it.b) < 2 {
			it.err, it.b = ErrBadOption, nil
			return 0, nil, false
		}
		n := int(it.b[1])
		if n < 2 || n > len(it.b) {
			it.err, it.b = ErrBadOption, nil
			return 0, nil, false
		}
		data, it.b = it.b[2:n], it.b[n:]
		return t, data, true
	}
	return 0, nil, false
}

// Err is the error that stopped iteration, or nil.
func (it *OptionIter) Err() error { return it.err }

// checkOptions validates opts and reports whether a source route is present.
// RFC 1122 §3.2.1.8 lets a host ignore options it does not know; record
// route and timestamp are accepted and ignored.
func checkOptions(opts []byte) (sourceRoute bool, err error) {
	it := Iter(opts)
	for {
		t, _, ok := it.Next()
		if !ok {
			return sourceRoute, it.Err()
		}
		if t == OptLSRR || t == OptSSRR {
			sourceRoute = true
		}
	}
}
