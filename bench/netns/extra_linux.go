//go:build linux

package netns

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Capture starts reading every frame on B's end of the veth pair (both
// directions, through an AF_PACKET socket in B) and hands each to f, on
// one goroutine, in order. stop ends the capture and waits for it; f is
// not called after stop returns.
func (p *Pair) Capture(f func(frame []byte)) (stop func(), err error) {
	var fd int
	err = p.B.Do(func() error {
		ifi, err := net.InterfaceByName(p.B.Veth)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("netns: packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("netns: bind packet socket to %s: %w", p.B.Veth, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(fd), "packet:"+p.B.Veth) // nonblocking: reads go through the poller
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := file.Read(buf)
			if err != nil {
				return
			}
			f(buf[:n])
		}
	}()
	return func() { file.Close(); wg.Wait() }, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// RaiseFileLimit raises this process's open-file limit (RLIMIT_NOFILE,
// soft and hard, as `ulimit -n` does for a shell) to at least n, and
// returns a function that restores the old limit. The kernel's fs.nr_open
// caps it.
func RaiseFileLimit(n uint64) (restore func(), err error) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		return nil, err
	}
	if old.Cur >= n {
		return func() {}, nil
	}
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if max, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > max {
			return nil, fmt.Errorf("netns: %d open files needed, fs.nr_open is %d", n, max)
		}
	}
	nl := syscall.Rlimit{Cur: n, Max: max(n, old.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		return nil, fmt.Errorf("netns: raise RLIMIT_NOFILE to %d: %w", n, err)
	}
	return func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) }, nil
}

// SocketSlabCaches are the kernel slab caches that hold a TCP socket's
// objects: the socket itself (TCP), its inode (sock_inode_cache), the open
// file and its dentry (filp, dentry), and the epoll item Go's poller adds
// (eventpoll_epi); request_sock_TCP and tw_sock_TCP hold connections being
// opened and in TIME_WAIT.
var SocketSlabCaches = []string{"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi", "request_sock_TCP", "tw_sock_TCP"}

// KernelSocketMemory returns the bytes in use in SocketSlabCaches
// (/proc/slabinfo: active objects x object size). It is machine-wide:
// deltas include other processes' sockets and files (dentries above all).
func KernelSocketMemory() (uint64, error) {
	b, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return 0, err
	}
	var total uint64
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !slices.Contains(SocketSlabCaches, f[0]) {
			continue
		}
		active, err1 := strconv.ParseUint(f[1], 10, 64)
		size, err2 := strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("netns: /proc/slabinfo line %q", sc.Text())
		}
		total += active * size
		found++
	}
	if found == 0 {
		return 0, fmt.Errorf("netns: none of %v in /proc/slabinfo", SocketSlabCaches)
	}
	return total, nil
}

// FileLimit is this process's current (soft) open-file limit.
func FileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// RaiseTCPMem raises the kernel's TCP memory thresholds (net.ipv4.tcp_mem,
// in pages: below the first no pressure, above the second "memory
// pressure" that shrinks buffers and prunes queues, the third a hard
// limit) so that pressure starts no lower than pressureBytes and the limit
// is no lower than maxBytes, as a kernel user running many bulk flows
// would (sysctl -w net.ipv4.tcp_mem=...). tcp_mem is machine-wide, not
// per namespace; restore puts the old values back.
func RaiseTCPMem(pressureBytes, maxBytes uint64) (restore func(), err error) {
	const path = "/proc/sys/net/ipv4/tcp_mem"
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return nil, fmt.Errorf("netns: %s: %q", path, b)
	}
	var old [3]uint64
	for i := range old {
		if old[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
			return nil, fmt.Errorf("netns: %s: %w", path, err)
		}
	}
	page := uint64(os.Getpagesize())
	nw := old
	nw[1] = max(old[1], pressureBytes/page)
	nw[2] = max(old[2], maxBytes/page, nw[1])
	if nw == old {
		return func() {}, nil
	}
	write := func(v [3]uint64) error {
		return os.WriteFile(path, []byte(fmt.Sprintf("%d %d %d\n", v[0], v[1], v[2])), 0o644)
	}
	if err := write(nw); err != nil {
		return nil, fmt.Errorf("netns: raise tcp_mem: %w", err)
	}
	return func() { write(old) }, nil
}
