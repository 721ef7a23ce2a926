//go:build tamago && qemuvirt

package main

import (
	"errors"
	"net/netip"
	"os"
	"strconv"

	"github.com/mirago/mirago/bench/image/echoloop"
	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
	"github.com/mirago/mirago/internal/buildcfg"
	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

func main() {
	// The console logger of app/echo images (internal/boardrun.Logger).
	log := logging.NewConsole(os.Stdout, logging.LevelInfo, "board", "qemu-virt", "stack", "mirago")
	if err := run(log); err != nil {
		log.Error("miecho", "err", err)
		qemuvirt.Exit(1)
		select {}
	}
}

func run(log logging.Logger) error {
	prefix, err := inet.ParsePrefix4(buildcfg.IP)
	if err != nil {
		return errors.New("bad IP " + strconv.Quote(buildcfg.IP) + ": want an IPv4 CIDR")
	}
	cfg := stack.Config{Addr: prefix, Rand: qemuvirt.Rand()}
	if buildcfg.GW != "" {
		if cfg.Gateway, err = inet.ParseAddr4(buildcfg.GW); err != nil {
			return errors.New("bad GW " + strconv.Quote(buildcfg.GW))
		}
	}
	port, err := strconv.ParseUint(buildcfg.PORT, 10, 16)
	if err != nil || port == 0 {
		return errors.New("bad PORT " + strconv.Quote(buildcfg.PORT))
	}
	if err := qemuvirt.Init(); err != nil {
		return err
	}
	dev, err := qemuvirt.Net()
	if err != nil {
		return err
	}
	s, err := stack.New(dev, cfg)
	if err != nil {
		return err
	}
	log.Info("stack up", "mac", dev.MAC().String(), "mtu", dev.MTU(), "ip", prefix.String(), "gw", cfg.Gateway.String())

	ln, err := s.TCP().Listen(uint16(port))
	if err != nil {
		return xerr.Wrap("tcp port "+strconv.FormatUint(port, 10), err)
	}
	uc, err := s.UDP().Bind(netip.AddrPortFrom(netip.Addr{}, uint16(port)))
	if err != nil {
		return xerr.Wrap("udp port "+strconv.FormatUint(port, 10), err)
	}
	go echoloop.ServeUDP(uc.ReadFromAddrPort, uc.WriteToAddrPort, log)
	log.Info("echo serving", "port", port)
	return echoloop.ServeTCP(ln)
}
