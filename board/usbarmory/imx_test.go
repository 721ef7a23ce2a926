package usbarmory

// TestIMXImage runs `make imx APP=boottest` (mk/imx.mk), checks the i.MX
// header of the result, and boots the payload it carries under QEMU: the
// image is what the boot ROM would load at its load address and jump to.

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
)

// i.MX image vector table (IMX6ULRM, chapter 8 System Boot: Image Vector
// Table and Boot Data).
const (
	ivtHeader  uint32 = 0x402000d1 // tag 0xd1, length 0x0020, version 0x40
	textStart  uint32 = 0x80010000 // TEXT_START for the board (mk/baremetal.mk)
	ivtAddress uint32 = 0x8000f400 // mkimage puts the IVT 3 KiB below the payload
)

func TestIMXImage(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("image test skipped in -short mode")
	}
	root := require.ModuleRoot(t)
	require.Toolchain(t)
	require.Commands(t, "make", "make")
	require.Commands(t, "u-boot-tools", "mkimage")
	if !anyCommand("arm-none-eabi-objcopy", "llvm-objcopy", "arm-linux-gnueabihf-objcopy") {
		// mk/imx.mk takes any of them.
		require.Missing(t, "an objcopy that reads ARM ELF: arm-none-eabi-objcopy (Debian package binutils-arm-none-eabi) or llvm-objcopy")
	}
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.TempDir()
	mk := exec.CommandContext(ctx, "make", "--no-print-directory", "-f", "mk/imx.mk", "imx", "APP=boottest", "OUT="+out)
	mk.Dir = root
	var stdout bytes.Buffer
	mk.Stdout = &stdout
	mk.Stderr = &stdout
	if err := mk.Run(); err != nil {
		t.Fatalf("make imx: %v\n%s", err, stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	img := filepath.Join(out, "boottest-usbarmory.imx")
	if last := lines[len(lines)-1]; last != img {
		t.Fatalf("make imx printed %q last, want %q", last, img)
	}

	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(filepath.Join(out, "boottest-usbarmory.elf"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	text, err := ef.Section(".text").Data()
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) < 0x1000 || le.Uint32(b) != ivtHeader {
		t.Fatalf("no IVT at the start of %s", img)
	}
	entry, self := le.Uint32(b[4:]), le.Uint32(b[20:])
	if entry != uint32(ef.Entry) || self != ivtAddress {
		t.Fatalf("IVT entry %#x self %#x, want %#x %#x", entry, self, ef.Entry, ivtAddress)
	}
	payload := b[textStart-ivtAddress:]
	if !bytes.HasPrefix(payload, text[:4096]) {
		t.Fatalf(".text is not at %#x in the image", textStart)
	}
	bin := filepath.Join(out, "payload.bin")
	if err := os.WriteFile(bin, payload, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var console bytes.Buffer
	run := exec.CommandContext(ctx, "qemu-system-arm",
		"-machine", "mcimx6ul-evk", "-cpu", "cortex-a7", "-m", "512M",
		"-nographic", "-monitor", "none", "-semihosting",
		"-serial", "null", "-serial", "stdio",
		"-net", "nic,model=imx.enet,netdev=n0", "-netdev", "user,id=n0",
		"-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", bin, textStart),
		"-device", fmt.Sprintf("loader,addr=%#x,cpu-num=0", entry))
	run.Stdout, run.Stderr = &console, &console
	err = run.Run()
	t.Logf("console:\n%s", console.String())
	if ctx.Err() != nil {
		t.Fatal("QEMU did not exit within 90s")
	}
	if err != nil {
		t.Fatalf("QEMU: %v (want exit status 0)", err)
	}
	if !regexp.MustCompile(`enetnet: PASS`).Match(console.Bytes()) {
		t.Fatal("the image's payload did not pass its boot test")
	}
}

// anyCommand reports whether one of names is on PATH.
func anyCommand(names ...string) bool {
	for _, n := range names {
		// skip-ok: the caller ends the test through require.Missing.
		if _, err := exec.LookPath(n); err == nil {
			return true
		}
	}
	return false
}
