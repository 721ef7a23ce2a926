package dhcp

import (
	"net"

	"github.com/mirago/mirago/stack/inet"
)

// PacketConn adapts a net.PacketConn (our UDP layer's *udp.Conn, or Go's
// net in tests) bound to 0.0.0.0:68 into a Transport. Pair it with
// Client.ReadLoop on the same socket.
type PacketConn struct {
	// Conn is the client socket, bound to port 68 with broadcast allowed.
	Conn net.PacketConn
	// ServerPort overrides the destination port (tests); 0 means 67.
	ServerPort int
}

// Send implements Transport.Send.
func (p PacketConn) Send(dst inet.Addr4, payload []byte) error {
	port := p.ServerPort
	if port == 0 {
		port = ServerPort
	}
	_, err := p.Conn.WriteTo(payload, &net.UDPAddr{IP: net.IP(dst[:]), Port: port})
	return err
}

// ReadLoop feeds every datagram read from conn to Input until reading
// fails (e.g. conn is closed), and returns that error. Run it in its own
// goroutine; it never holds the stack lock while calling Input.
func (c *Client) ReadLoop(conn net.PacketConn) error {
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		c.Input(buf[:n])
	}
}
