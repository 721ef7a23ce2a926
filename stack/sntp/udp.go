package sntp

import (
	"net/netip"

	"github.com/mirago/mirago/stack/udp"
)

// StartUDP runs a client over our UDP layer: it binds a dual-stack socket
// (servers of either family) to a random ephemeral port (RFC 6056; the
// nonce, not the port, is what authenticates a reply), feeds what it receives to the client and starts
// it. cfg.Conn is set here; Stop closes the socket. Pass the stack's
// clock and randomness in cfg (stack.Timers().Clock(), stack.Rand()).
func StartUDP(u *udp.Layer, cfg Config) (*Client, error) {
	conn, err := u.Bind(netip.AddrPortFrom(netip.Addr{}, 0))
	if err != nil {
		return nil, err
	}
	cfg.Conn = conn
	c, err := New(cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	readDone := make(chan struct{})
	c.closer = func() {
		conn.Close()
		<-readDone
	}
	go func() {
		defer close(readDone)
		c.ReadLoop(conn)
	}()
	c.Start()
	return c, nil
}
