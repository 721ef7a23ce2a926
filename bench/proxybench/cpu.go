//go:build linux

package proxybench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture we run on).
const clockTick = 100

// cpuTime is the CPU time (user and system, all threads) that process
// pid has used so far, from /proc/PID/stat (utime and stime, fields 14
// and 15); 0 if it cannot be read. The system time includes the kernel
// work the process's system calls do (a TAP write runs the kernel's
// receive path; a splice the kernel's copy-free forward), but not
// softirq work the kernel does on another task's behalf.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / clockTick
}
