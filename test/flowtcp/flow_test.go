package flowtcp_test

import (
	"net"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

// TestTCPIsAFlow runs the flow semantics suite on TCP connections between
// two stacks on an in-memory switch.
func TestTCPIsAFlow(t *testing.T) {
	st := newStacks(t)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		return st.tcpPair(t)
	})
}

// TestTCPProxy runs the flow.Proxy half-close matrix with every link a
// TCP connection.
func TestTCPProxy(t *testing.T) {
	st := newStacks(t)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}

// TestTCP6IsAFlow and TestTCP6Proxy run the suite and the proxy matrix
// over IPv6 TCP connections: the same state machine, another family.
func TestTCP6IsAFlow(t *testing.T) {
	st := newStacks(t).over6(t)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		a, b = st.tcpPair(t)
		if ra := a.RemoteAddr().(*net.TCPAddr); ra.IP.To4() != nil {
			t.Fatalf("connection to %v: not IPv6", ra)
		}
		return a, b
	})
}

func TestTCP6Proxy(t *testing.T) {
	st := newStacks(t).over6(t)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}

// TestTCP6IsAFlowLossy runs the suite over IPv6 on lossy links.
func TestTCP6IsAFlowLossy(t *testing.T) {
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	slowLink(t)
	st := newImpairedStacks(t, lossy).over6(t)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}

// TestTLSOverTCPIsAFlow runs the suite on tlsflow.Conn over TCP.
func TestTLSOverTCPIsAFlow(t *testing.T) {
	st := newStacks(t)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) { return st.tlsPair(t) })
}

// TestTLSOverTCPProxy runs the proxy matrix with TLS over TCP links.
func TestTLSOverTCPProxy(t *testing.T) {
	st := newStacks(t)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tlsPair(t) })
}

// lossy is the impairment of the Lossy tests: both links lose, reorder
// and duplicate frames.
const lossy = "loss=0.02,reorder=0.02,dup=0.01"

// slowLink gives the suites' waits more time for the test's duration: on
// a lossy link, a lone lost last segment of a burst still costs about the
// 200 ms RTO on a fast link (the tail loss probe saves the backoff and
// the cwnd collapse, not the time), so an 8 MiB transfer takes seconds,
// many more under the race detector on a busy machine. A stall still
// fails, just later.
func slowLink(t *testing.T) {
	old := flowtest.Wait
	flowtest.Wait = 60 * time.Second
	t.Cleanup(func() { flowtest.Wait = old })
}

// TestTCPIsAFlowLossy runs the suite over links that lose, reorder and
// duplicate frames: retransmission must not change the semantics.
func TestTCPIsAFlowLossy(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	slowLink(t)
	st := newImpairedStacks(t, lossy)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		return st.tcpPair(t)
	})
}

// TestTCPProxyLossy runs the proxy matrix over lossy links.
func TestTCPProxyLossy(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	slowLink(t)
	st := newImpairedStacks(t, lossy)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}

// splicedPairs is a flowtest.MakeFunc for RunProxy that puts both of the
// proxy's ends on stack B: RunProxy asks for (client, a) and then for
// (b, server), so every second pair is turned around. flow.Proxy then
// splices a and b in B (tcp.SpliceConns) instead of copying.
func (st *stacks) splicedPairs() func(t *testing.T) (a, b flow.Flow) {
	var n int
	return func(t *testing.T) (flow.Flow, flow.Flow) {
		a, b := st.tcpPair(t)
		if n++; n%2 == 0 {
			return b, a
		}
		return a, b
	}
}

// splices is how many connection pairs stack B spliced.
func (st *stacks) splices() uint64 {
	s := st.b.Stats().TCP
	return s.Splices + s.IPv6.Splices
}

// TestTCPProxySpliced runs the proxy matrix with the proxy's ends on one
// stack, spliced.
func TestTCPProxySpliced(t *testing.T) {
	st := newStacks(t)
	flowtest.RunProxy(t, st.splicedPairs())
	t.Logf("%d proxies spliced", st.splices())
	if st.splices() == 0 {
		t.Error("no connections were spliced")
	}
}

// TestTCPProxySplicedLossy runs the spliced proxy matrix over lossy links.
func TestTCPProxySplicedLossy(t *testing.T) {
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	slowLink(t)
	st := newImpairedStacks(t, lossy)
	flowtest.RunProxy(t, st.splicedPairs())
	if st.splices() == 0 {
		t.Error("no connections were spliced")
	}
}
