package require

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test: it records how Missing ended it.
type recorder struct {
	testing.TB
	how, msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.how, r.msg = "fail", fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.how, r.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// end runs f with a recorder in its own goroutine (Goexit ends it).
func end(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	for _, tc := range []struct{ ci, how string }{{"", "skip"}, {"false", "skip"}, {"true", "fail"}} {
		t.Setenv("CI", tc.ci)
		r := end(t, func(tb testing.TB) { Missing(tb, "the frobnicator") })
		if r.how != tc.how || !strings.Contains(r.msg, "the frobnicator") {
			t.Errorf("CI=%q: %s %q, want a %s naming the requirement", tc.ci, r.how, r.msg, tc.how)
		}
	}
}

func TestCommandsNamesThePackage(t *testing.T) {
	t.Setenv("CI", "true")
	r := end(t, func(tb testing.TB) { Commands(tb, "frob-utils", "go", "no-such-command-mirago") })
	if r.how != "fail" || !strings.Contains(r.msg, "no-such-command-mirago on PATH (Debian package frob-utils)") {
		t.Errorf("%s %q", r.how, r.msg)
	}
	if r := end(t, func(tb testing.TB) { Commands(tb, "", "go") }); r.how != "" {
		t.Errorf("go is on PATH, yet %s %q", r.how, r.msg)
	}
}
