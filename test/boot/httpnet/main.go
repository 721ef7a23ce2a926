//go:build tamago && arm

// Command httpnet is a qemu-virt test image for stack/socket: it installs
// our stack as package net's sockets (socket.Install) and then uses only
// the standard library. It serves net/http on net.Listen("tcp", ":80"),
// echoes UDP on net.ListenPacket("udp", ":5353"), and fetches
// http://GW:UPSTREAM/ with a plain http.Get (net.Dial inside), printing
// what it got. The host test (boot_test.go) builds it, boots it with QEMU
// user networking and port forwards, and checks all three.
//
//	GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=arm GOARM=7 \
//	  $(go tool -n github.com/usbarmory/tamago/cmd/tamago) build -tags qemuvirt,linkcpuinit -trimpath \
//	  -ldflags "-T 0x40101000 -R 0x1000 -X github.com/mirago/mirago/internal/buildcfg.UPSTREAM=8000" \
//	  -o httpnet.elf ./test/boot/httpnet
//	scripts/qemu.sh httpnet.elf -fwd 18080:80 -fwd udp:15353:5353
//	curl http://127.0.0.1:18080/hello
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"syscall"
	"time"

	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/socket"
)

func main() {
	fmt.Println("httpnet: start")
	if err := run(); err != nil {
		fmt.Println("httpnet: FAIL:", err)
		qemuvirt.Exit(1)
	}
}

func run() error {
	if err := qemuvirt.Init(); err != nil {
		return err
	}
	dev, err := qemuvirt.Net()
	if err != nil {
		return err
	}
	addr, err := inet.ParsePrefix4(buildcfg.IP)
	if err != nil {
		return fmt.Errorf("buildcfg.IP: %v", err)
	}
	gw, err := inet.ParseAddr4(buildcfg.GW)
	if err != nil {
		return fmt.Errorf("buildcfg.GW: %v", err)
	}
	s, err := stack.New(dev, stack.Config{Addr: addr, Gateway: gw, Rand: qemuvirt.Rand()})
	if err != nil {
		return err
	}
	socket.Install(s)

	// From here on, only the standard library.
	ln, err := net.Listen("tcp", ":80")
	if err != nil {
		return fmt.Errorf("net.Listen: %v", err)
	}
	pc, err := net.ListenPacket("udp", ":5353")
	if err != nil {
		return fmt.Errorf("net.ListenPacket: %v", err)
	}
	// The stack speaks IPv6, but ::1 is never one of its addresses (no
	// loopback interface): refused cleanly, not EAFNOSUPPORT any more.
	if _, err := net.Listen("tcp6", "[::1]:80"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("net.Listen tcp6: %v, want EADDRNOTAVAIL", err)
	}
	// (*net.TCPListener).SetDeadline reaches our listener (netFD asserts
	// it has SetDeadline): a past deadline times Accept out.
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(time.Unix(1, 0))
	if _, err := tl.Accept(); !os.IsTimeout(err) {
		return fmt.Errorf("Accept with a past deadline: %v, want a timeout", err)
	}
	tl.SetDeadline(time.Time{})
	fmt.Println("httpnet: listener deadline ok")
	go udpEcho(pc)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s on %s/%s via net.Listen", r.RemoteAddr, r.Host, runtime.GOOS, runtime.GOARCH)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("httpnet: serving http on %v, udp on %v\n", ln.Addr(), pc.LocalAddr())

	if buildcfg.UPSTREAM != "" {
		go fetch("http://" + net.JoinHostPort(buildcfg.GW, buildcfg.UPSTREAM) + "/from-guest")
	}
	return <-errc
}

// fetch GETs url with net/http's default client (net.Dial through
// net.SocketFunc) and prints the result.
func fetch(url string) {
	client := &http.Client{Timeout: 20 * time.Second}
	for try := 1; try <= 3; try++ {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Printf("httpnet: GET %s (try %d): %v\n", url, try, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("httpnet: GET %s: %s %q %v\n", url, resp.Status, body, err)
		return
	}
}

// udpEcho echoes every datagram.
func udpEcho(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Println("httpnet: udp:", err)
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}
