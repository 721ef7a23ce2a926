package flowtest

import (
	"errors"

	"github.com/mirago/mirago/flow"
)

// ErrInjected is the error a Faulty flow fails with.
var ErrInjected = errors.New("flowtest: injected failure")

// Faulty wraps a flow and fails its reads or writes with ErrInjected
// after the given number of successful calls; a negative count never
// fails.
type Faulty struct {
	flow.Flow
	// ReadsOK is how many Reads succeed before they fail.
	ReadsOK int
	// WritesOK is how many Writes succeed before they fail.
	WritesOK int
}

// Read implements net.Conn.Read. Once ReadsOK reads have passed, it
// waits for the next data and, instead of returning it, fails.
func (f *Faulty) Read(p []byte) (int, error) {
	if f.ReadsOK == 0 {
		if _, err := f.Flow.Read(p); err != nil {
			return 0, err
		}
		return 0, ErrInjected
	}
	f.ReadsOK--
	return f.Flow.Read(p)
}

// Write implements net.Conn.Write, failing once WritesOK writes have passed.
func (f *Faulty) Write(p []byte) (int, error) {
	if f.WritesOK == 0 {
		return 0, ErrInjected
	}
	f.WritesOK--
	return f.Flow.Write(p)
}

// WriteBuffers implements flow.Flow.WriteBuffers through Write.
func (f *Faulty) WriteBuffers(v [][]byte) (int64, error) {
	return flow.WriteBuffersSeq(f, v)
}
