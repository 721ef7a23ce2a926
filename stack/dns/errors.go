package dns

import (
	"errors"
	"net/netip"
	"strconv"
)

// Decoding errors. ParseMessage wraps them in a *ParseError.
var (
	// ErrTruncated: a field, count or record runs past the end of the
	// message (RFC 9267 §3: counts versus actual data).
	ErrTruncated = errors.New("dns: message truncated")
	// ErrPointer: a compression pointer that does not point strictly
	// backwards to a name inside the message (loops, self-references,
	// forward and out-of-bounds offsets; RFC 9267 §2).
	ErrPointer = errors.New("dns: bad compression pointer")
	// ErrLabel: a label with a reserved type (0x40/0x80 prefix), i.e. a
	// length above 63 (RFC 1035 §2.3.4, RFC 6891 §5).
	ErrLabel = errors.New("dns: bad label length")
	// ErrNameTooLong: a name longer than 255 octets on the wire
	// (RFC 1035 §2.3.4).
	ErrNameTooLong = errors.New("dns: name too long")
	// ErrRDLength: an RDLENGTH that does not fit the remaining bytes or the
	// record type (an A record's must be 4, RFC 1035 §3.4.1; an AAAA
	// record's 16, RFC 3596 §2.2).
	ErrRDLength = errors.New("dns: bad RDLENGTH")
)

// Encoding errors.
var (
	// ErrBadName: a name with an empty or over-long label or one that is
	// too long to encode.
	ErrBadName = errors.New("dns: invalid domain name")
)

// Resolution errors, reported inside a *LookupError.
var (
	// ErrNXDomain: the name does not exist (RCODE 3).
	ErrNXDomain = errors.New("dns: no such host")
	// ErrNoData: the name exists but has no record of the type asked
	// for (no A record, or no AAAA record).
	ErrNoData = errors.New("dns: no address record")
	// ErrServFail: the servers failed to answer (RCODE 2).
	ErrServFail = errors.New("dns: server failure")
	// ErrRefused: the servers refused the query or answered with another
	// error RCODE.
	ErrRefused = errors.New("dns: query refused")
	// ErrTimeout: no valid response arrived before the per-try timeout on
	// any attempt.
	ErrTimeout = errors.New("dns: timeout")
	// ErrNoServers: Resolver.Servers is empty.
	ErrNoServers = errors.New("dns: no servers configured")
	// ErrBadResponse: a response that could not be used (e.g. an
	// over-long CNAME chain).
	ErrBadResponse = errors.New("dns: unusable response")
)

// ParseError is a decoding failure at a byte offset of the message.
type ParseError struct {
	Off int   // offset in the message where decoding failed
	Err error // one of the Err* decoding errors
}

// Error implements error.
func (e *ParseError) Error() string { return e.Err.Error() + " at offset " + strconv.Itoa(e.Off) }

// Unwrap returns the underlying sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

// LookupError is a failed lookup of Name.
type LookupError struct {
	Name   string         // the name looked up
	Server netip.AddrPort // the last server tried (zero if none)
	Err    error          // ErrNXDomain, ErrNoData, ErrServFail, ErrTimeout, ...
}

// Error implements error.
func (e *LookupError) Error() string {
	if e.Server.IsValid() {
		return "lookup " + e.Name + " via " + e.Server.String() + ": " + e.Err.Error()
	}
	return "lookup " + e.Name + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *LookupError) Unwrap() error { return e.Err }

// Timeout reports whether the lookup timed out, as net.Error does.
func (e *LookupError) Timeout() bool { return errors.Is(e.Err, ErrTimeout) }

// Temporary reports whether retrying later may succeed.
func (e *LookupError) Temporary() bool {
	return errors.Is(e.Err, ErrTimeout) || errors.Is(e.Err, ErrServFail)
}
