package proxyproto

import (
	"errors"
	"io"
)

// Read reads a header from r, reading no more than it must be given to
// decide (a v1 header is at most MaxV1 bytes, a v2 one at most max; 0
// means DefaultMaxV2). It returns the header and the bytes read past it,
// which belong to the stream that follows. A stream that ends first
// gives io.ErrUnexpectedEOF (io.EOF if it sent nothing); a malformed
// header an *Error. Deadlines are the caller's (set one on r).
func Read(r io.Reader, max int) (Header, []byte, error) {
	if max <= 0 {
		max = DefaultMaxV2
	}
	buf := make([]byte, 0, 256)
	for {
		h, n, err := Parse(buf, max)
		if err == nil {
			return h, buf[n:], nil
		}
		if !errors.Is(err, ErrIncomplete) {
			return h, nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if k > 0 {
			continue
		}
		if rerr == io.EOF {
			if len(buf) == 0 {
				return Header{}, nil, io.EOF
			}
			return Header{}, nil, io.ErrUnexpectedEOF
		}
		if rerr != nil {
			return Header{}, nil, rerr
		}
	}
}
