package boardrun

import (
	"strings"

	"github.com/mirago/mirago/logging"
)

// ParseLevel parses buildcfg.LOG: "debug", "info", "warn" or "error"
// (any case); empty means info. ok is false for anything else, which
// also gives info.
func ParseLevel(s string) (l logging.Level, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return logging.LevelDebug, true
	case "", "info":
		return logging.LevelInfo, true
	case "warn", "warning":
		return logging.LevelWarn, true
	case "error":
		return logging.LevelError, true
	}
	return logging.LevelInfo, false
}
