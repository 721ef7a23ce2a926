package tap_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// The TAP runner: our stack as an ordinary Linux process, on a TAP
// interface (root or CAP_NET_ADMIN). Give the kernel side an address on
// the same subnet (ip addr add 10.0.2.2/24 dev mirago0) and it can ping
// 10.0.2.15 and talk to the echo service; internal/hostrun does this, with
// flags, for the apps. (No Output comment: it needs root and a TAP, so go
// test only compiles it.)
func ExampleOpen() {
	dev, err := tap.Open("mirago0", tap.Options{BringUp: true})
	if err != nil {
		log.Fatal(err)
	}
	s, err := stack.New(dev, stack.Config{
		Addr:    inet.Prefix4{Addr: inet.Addr4{10, 0, 2, 15}, Bits: 24},
		Gateway: inet.Addr4{10, 0, 2, 2},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ln, err := s.TCP().Listen(7)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for {
		c, err := ln.AcceptContext(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		go func() {
			io.Copy(c, c) // RFC 862 echo
			c.Close()
		}()
	}
}
