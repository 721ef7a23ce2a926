//go:build linux

package boot

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

const (
	idleConns = 1000  // connections held open at once
	idleMem   = "64M" // the guest's RAM for them
	idleDials = 50    // dials in flight at once
)

// TestBootEchoIdle boots the qemu-virt echo image in a 64 MiB VM on a
// TAP and holds 1000 echo connections open at once: each is proven by a
// one-byte round trip when opened, then all sit idle, then each must
// echo again; a fresh connection must still carry 1 MiB intact while
// they are open, and the guest must not have run out of memory. Over a
// TAP, not user networking: QEMU's slirp would need a host socket per
// connection, past the usual 1024 open-file limit.
func TestBootEchoIdle(t *testing.T) {
	root := requireEnv(t)
	const board = "qemu-virt"
	tap, n := newTAP(t)
	guestIP := fmt.Sprintf("10.199.%d.15", n)
	image := buildImage(t, root, imageConfig{app: "echo", board: board, port: echoPort,
		ip: guestIP + "/24", gw: fmt.Sprintf("10.199.%d.1", n)})
	g := boot(t, root, image, board, "-m", idleMem, "-tap", tap)
	g.waitFor(t, `msg="echo serving"`)
	addr := net.JoinHostPort(guestIP, echoPort)
	waitTCPEcho(t, g, addr)

	start := time.Now()
	conns := make([]net.Conn, idleConns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	errs := make(chan error, idleConns)
	slots := make(chan struct{}, idleDials)
	for i := range conns {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			c, err := net.DialTimeout("tcp", addr, 20*time.Second)
			if err == nil {
				conns[i] = c
				err = roundTrip(c, byte(i))
			}
			if err != nil {
				err = fmt.Errorf("connection %d: %w", i, err)
			}
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d connections open and echoing after %v", idleConns, time.Since(start).Round(time.Millisecond))

	bulkEcho(t, addr, bulkSize, nil)
	for i, c := range conns {
		if err := roundTrip(c, byte(i>>2)); err != nil {
			t.Fatalf("connection %d after idling: %v", i, err)
		}
	}
	t.Logf("all %d connections echo again", idleConns)
	if con := g.text(); strings.Contains(con, "out of memory") || strings.Contains(con, "fatal error") {
		t.Fatalf("the guest failed:\n%s", con)
	}
}

// roundTrip sends one byte on c and wants it back.
func roundTrip(c net.Conn, b byte) error {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	var got [1]byte
	if _, err := io.ReadFull(c, got[:]); err != nil {
		return err
	}
	if got[0] != b {
		return fmt.Errorf("echoed %#x, sent %#x", got[0], b)
	}
	return nil
}
