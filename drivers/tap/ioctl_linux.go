package tap

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// attach binds fd (an open /dev/net/tun) to the TAP interface name,
// creating it if missing, and returns the interface's actual name.
// IFF_NO_PI: frames carry no 4-byte packet-information prefix. With vnet,
// IFF_VNET_HDR: frames carry a 10-byte virtio-net header instead.
func attach(fd int, name string, vnet bool) (string, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return "", fmt.Errorf("tap: interface name %q: %w", name, err)
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if vnet {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		switch {
		case errors.Is(err, unix.EPERM):
			return "", fmt.Errorf("tap: creating or attaching %q needs CAP_NET_ADMIN (run as root or grant the capability): %w", name, err)
		case errors.Is(err, unix.EBUSY):
			return "", fmt.Errorf("tap: %q is in use by another process: %w", name, err)
		case errors.Is(err, unix.EINVAL):
			return "", fmt.Errorf("tap: %q exists and is not a TAP interface, or the name is invalid: %w", name, err)
		}
		return "", fmt.Errorf("tap: TUNSETIFF %q: %w", name, err)
	}
	if vnet {
		// A persistent interface keeps the header size another process
		// set; ours is struct virtio_net_hdr without num_buffers.
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
			return "", fmt.Errorf("tap: TUNSETVNETHDRSZ %q: %w", name, err)
		}
	}
	return ifr.Name(), nil
}

// setOffload asks the kernel, with TUNSETOFFLOAD, to hand us partial
// checksums and merged TCP segments (TSO4, and TSO6 for IPv6 to come)
// instead of completing and segmenting them for us, and returns the flags
// it took. Options.NoTSO asks for checksums only; a kernel that refuses
// the TSO flags is asked for checksums alone, and one that refuses that
// too for nothing. TUNSETOFFLOAD does not govern the other direction:
// the kernel takes the offloads of the header on every frame we write.
func setOffload(fd int, name string, opts Options) (int, error) {
	tries := []int{tunFCsum | tunFTSO4 | tunFTSO6, tunFCsum, 0}
	if opts.NoTSO {
		tries = tries[1:]
	}
	var err error
	for _, f := range tries {
		if err = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, f); err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	return 0, fmt.Errorf("tap: TUNSETOFFLOAD %q: %w", name, err)
}

// configure sets the kernel-side MTU and brings the interface up, through
// an AF_INET datagram socket as ifconfig does.
func configure(name string, opts Options) error {
	if !opts.SetMTU && !opts.BringUp {
		return nil
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tap: socket for interface ioctls: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if opts.SetMTU {
		ifr.SetUint32(uint32(opts.MTU))
		if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("tap: setting MTU %d on %s: %w", opts.MTU, name, err)
		}
	}
	if opts.BringUp {
		if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("tap: reading flags of %s: %w", name, err)
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("tap: bringing %s up: %w", name, err)
		}
	}
	return nil
}
