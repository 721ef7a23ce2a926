package inet

import (
	"errors"
	"strconv"
	"strings"
)

// ParsePort parses a TCP or UDP port setting named name (for its error
// message): a decimal 1-65535, surrounding spaces ignored. The apps' flags
// and build settings use it.
func ParsePort(name, s string) (uint16, error) {
	p, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || p == 0 {
		return 0, errors.New("bad " + name + " " + strconv.Quote(s) + ": want a port 1-65535")
	}
	return uint16(p), nil
}
