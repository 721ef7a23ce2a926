package dns

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// TestDnsmasq resolves through a real server: dnsmasq on 127.0.0.1,
// answering test.mirago locally and nothing else (no upstream).
func TestDnsmasq(t *testing.T) {
	require.Commands(t, "dnsmasq-base", "dnsmasq")
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		t.Fatal(err)
	}
	// Pick a free port; dnsmasq binds UDP and TCP on it.
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := l.LocalAddr().(*net.UDPAddr).AddrPort()
	l.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--no-daemon", "--conf-file=/dev/null", "--port="+strconv.Itoa(int(srv.Port())),
		"--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
		"--address=/test.mirago/10.1.2.3", "--pid-file=", "--user=root", "--group=root")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dnsmasq: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	r, _ := newResolver(srv)
	r.Timeout = 200 * time.Millisecond
	r.CacheSize = -1
	// dnsmasq needs a moment to bind: retry lookups (each waits for its
	// own timeout) until it answers or gives up.
	deadline := time.Now().Add(10 * time.Second)
	var addrs []net.IP
	for {
		select {
		case err := <-exited:
			t.Fatalf("dnsmasq exited: %v\n%s", err, stderr.String())
		default:
		}
		a, err := r.LookupA(context.Background(), "test.mirago")
		if err == nil {
			for _, x := range a {
				addrs = append(addrs, x.AsSlice())
			}
			break
		}
		if !errors.Is(err, ErrTimeout) && !errors.As(err, new(*net.OpError)) || time.Now().After(deadline) {
			t.Fatalf("lookup: %v\n%s", err, stderr.String())
		}
	}
	if len(addrs) != 1 || !addrs[0].Equal(net.IPv4(10, 1, 2, 3)) {
		t.Fatalf("test.mirago = %v, want 10.1.2.3", addrs)
	}
	// Names under the configured domain resolve too; others get no answer
	// from a server without upstreams (REFUSED) or NXDOMAIN.
	if a, err := r.LookupA(context.Background(), "www.test.mirago"); err != nil || len(a) != 1 {
		t.Errorf("www.test.mirago = %v, %v", a, err)
	}
	if _, err := r.LookupA(context.Background(), "other.invalid"); err == nil {
		t.Errorf("other.invalid resolved")
	}
}
