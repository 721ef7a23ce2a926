package metrics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Parse reads the text exposition format back into a map from sample
// (the name with its labels as written, e.g. `mirago_tcp_states{state="LISTEN"}`)
// to value. It checks that every sample follows a TYPE line for its family
// and that no sample appears twice; it is meant for tests and tools, not
// for arbitrary exporters (no timestamps, no escaped spaces in labels).
func Parse(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "#") {
			f := strings.Fields(t)
			if len(f) >= 4 && f[1] == "TYPE" {
				typed[f[2]] = true
			}
			continue
		}
		i := strings.LastIndexByte(t, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("line %d: no value: %q", line, t)
		}
		key, val := t[:i], t[i+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad value %q", line, val)
		}
		name := key
		if j := strings.IndexByte(key, '{'); j >= 0 {
			if !strings.HasSuffix(key, "}") {
				return nil, fmt.Errorf("line %d: unterminated labels: %q", line, key)
			}
			name = key[:j]
		}
		if !typed[name] {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suf); ok && typed[base] {
					name = base
				}
			}
		}
		if !typed[name] {
			return nil, fmt.Errorf("line %d: sample %s before its TYPE line", line, name)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate sample %s", line, key)
		}
		out[key] = v
	}
	return out, sc.Err()
}
