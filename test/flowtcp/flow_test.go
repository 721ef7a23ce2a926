package flowtcp_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

// knownTCPBugs are flowtest.Run subtests that fail on *tcp.Conn because
// of TCP bugs reported to the TCP engineer. They are skipped unless
// MIRAGO_KNOWN_BUGS=1, which runs them to check a fix.
var knownTCPBugs = map[string]string{
	"CloseIdempotent": "known TCP bug: a second (*tcp.Conn).Close returns net.ErrClosed; " +
		"the flow contract wants nil (stack/tcp/api.go Close: return nil when fUserClosed is set)",
	"WritesDoNotInterleave": "known TCP bug: concurrent Writes interleave their bytes once the send " +
		"buffer fills (stack/tcp/api.go write releases the lock in waitLocked between chunks; " +
		"serialise whole Write/WriteBuffers calls per Conn with a writer token that deadlines and Close also wake)",
}

// skipKnown skips t if it is a subtest named in bugs.
func skipKnown(t *testing.T, bugs map[string]string) {
	if os.Getenv("MIRAGO_KNOWN_BUGS") != "" {
		return
	}
	name := t.Name()
	if reason, ok := bugs[name[strings.LastIndexByte(name, '/')+1:]]; ok {
		t.Skip(reason)
	}
}

// TestTCPIsAFlow runs the flow semantics suite on TCP connections between
// two stacks on an in-memory switch.
func TestTCPIsAFlow(t *testing.T) {
	st := newStacks(t)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		skipKnown(t, knownTCPBugs)
		return st.tcpPair(t)
	})
}

// TestTCPProxy runs the flow.Proxy half-close matrix with every link a
// TCP connection.
func TestTCPProxy(t *testing.T) {
	st := newStacks(t)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}

// TestTLSOverTCPIsAFlow runs the suite on flow.TLS over TCP.
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

// TestTCPIsAFlowLossy runs the suite over links that lose, reorder and
// duplicate frames: retransmission must not change the semantics.
func TestTCPIsAFlowLossy(t *testing.T) {
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	st := newImpairedStacks(t, lossy)
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		skipKnown(t, knownTCPBugs)
		return st.tcpPair(t)
	})
}

// TestTCPProxyLossy runs the proxy matrix over lossy links.
func TestTCPProxyLossy(t *testing.T) {
	if testing.Short() {
		t.Skip("lossy suite skipped in -short mode")
	}
	st := newImpairedStacks(t, lossy)
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) { return st.tcpPair(t) })
}
