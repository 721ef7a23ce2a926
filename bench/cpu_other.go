//go:build !unix

package bench

import "time"

// cpuTime is not available here; CPU figures read 0.
func cpuTime() time.Duration { return 0 }
