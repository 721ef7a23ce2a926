package inet

import "errors"

// ErrBufTooSmall is what every wire codec's Fields.Encode returns when the
// buffer it is given is shorter than Fields.Len.
var ErrBufTooSmall = errors.New("inet: buffer too small to encode into")
