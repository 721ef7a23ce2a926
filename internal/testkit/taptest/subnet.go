// Subnet reservation: taptest reserves the private /24 subnets (10.199.N.0/24, N in
// [10, 250)) that TAP tests and benchmarks put the kernel side of their
// TAPs on. A lock file per subnet in LockDir keeps test binaries and the
// benchmark running in parallel from sharing one, which would confuse the
// kernel's routes; files of processes that are gone are reclaimed.
package taptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockDir holds one lock file per reserved subnet.
const LockDir = "/tmp/mirago-taptest"

// Reserve takes a free subnet number N and returns it with the function
// that releases it.
func Reserve() (n int, release func(), err error) {
	if err := os.MkdirAll(LockDir, 0o755); err != nil {
		return 0, nil, err
	}
	start := os.Getpid() % 240
	for i := 0; i < 240; i++ {
		n := 10 + (start+i)%240
		path := filepath.Join(LockDir, strconv.Itoa(n))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			if b, rerr := os.ReadFile(path); rerr == nil {
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
					os.Remove(path)
				}
			}
			continue
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		return n, func() { os.Remove(path) }, nil
	}
	return 0, nil, fmt.Errorf("taptest: no free test subnet in %s", LockDir)
}
