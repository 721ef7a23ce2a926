// Package require is how a test says what it needs from the machine (root,
// /dev/net/tun, a command such as qemu-system-arm or tshark, the TamaGo
// toolchain). When a requirement is missing the test skips with a message
// naming it, except in CI (CI=true), where it fails instead: a green CI run
// must mean that every TAP, QEMU and toolchain test really ran.
//
// Its tests keep the rule: TestSkipsGoThroughRequire reports a t.Skip
// anywhere else in the module (except under testing.Short(), or marked
// "// skip-ok: why" when it is no requirement), and TestNoRaceCovered
// checks that make norace runs every test that NoRace skips under -race.
package require

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (the CI environment variable is
// "true", as .ci/run and every common CI service set it).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends t because what it needs is absent: a skip naming what, or
// in CI a failure naming what.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("missing requirement (CI=true, so this fails instead of skipping): %s", what)
	}
	t.Skipf("skipping: needs %s", what)
}

// Root requires root (CAP_NET_ADMIN for TAP devices and namespaces).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root (CAP_NET_ADMIN)")
	}
}

// TUN requires /dev/net/tun.
func TUN(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		Missing(t, "/dev/net/tun (TAP support): "+err.Error())
	}
}

// Commands requires each named command on PATH. pkg names the Debian
// package that provides them, for the message ("" to leave it out).
func Commands(t testing.TB, pkg string, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			what := name + " on PATH"
			if pkg != "" {
				what += " (Debian package " + pkg + ")"
			}
			Missing(t, what)
		}
	}
}
