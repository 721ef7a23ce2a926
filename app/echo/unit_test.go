//go:build !tamago

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/hostrun"
)

func TestParseFlags(t *testing.T) {
	var hf hostrun.Flags
	cfg, err := parseFlags(&hf, []string{"-port", "7007", "-grace", "1s", "-metrics", "9100"}, nil)
	if err != nil || cfg.Port != 7007 || cfg.Grace != time.Second || cfg.Metrics != 9100 {
		t.Fatalf("parseFlags = %+v, %v", cfg, err)
	}
	if cfg, err := parseFlags(&hf, nil, nil); err != nil || cfg.Port != 7 || cfg.Metrics != 0 {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-port", "0"}, "bad -port"},
		{[]string{"-port", "65536"}, "bad -port"},
		{[]string{"-port", "seven"}, "bad -port"},
		{[]string{"-grace", "-1s"}, "bad -grace"},
		{[]string{"-metrics", "7"}, "bad -metrics"},
		{[]string{"-metrics", "0"}, "bad -metrics"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-nosuch"}, "not defined"},
	} {
		var hf hostrun.Flags
		_, err := parseFlags(&hf, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseFlags(%q) = %v; want one line with %q", tc.args, err, tc.want)
		}
	}
}
