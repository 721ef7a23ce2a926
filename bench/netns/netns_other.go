//go:build !linux

// Package netns runs the Linux kernel's own TCP as a benchmark peer; on
// other systems it is unavailable.
package netns

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// Unavailable says why a Pair cannot be built here.
func Unavailable() string { return "needs Linux (network namespaces)" }

// Addresses of the client (A) and server (B).
var (
	AddrA = netip.MustParsePrefix("10.0.0.1/24")
	AddrB = netip.MustParsePrefix("10.0.0.2/24")
)

// Pair is unavailable here.
type Pair struct{}

// NewPair fails here.
func NewPair() (*Pair, error) { return nil, errors.New("netns: " + Unavailable()) }

func (*Pair) Listen(uint16) (net.Listener, error) { return nil, errors.New("netns: unavailable") }
func (*Pair) Dial(context.Context, uint16) (net.Conn, error) {
	return nil, errors.New("netns: unavailable")
}
func (*Pair) Drops() uint64                        { return 0 }
func (*Pair) Retransmits() uint64                  { return 0 }
func (*Pair) Close() error                         { return nil }
func (*Pair) Capture(func([]byte)) (func(), error) { return nil, errors.New("netns: unavailable") }
func RaiseFileLimit(uint64) (func(), error)        { return func() {}, nil }
func KernelSlab() (uint64, error)                  { return 0, errors.New("netns: unavailable") }

// FileLimit is unknown here.
func FileLimit() uint64 { return 0 }

// RaiseTCPMem does nothing here.
func RaiseTCPMem(uint64, uint64) (func(), error) { return func() {}, nil }
