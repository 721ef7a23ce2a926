# mirago: host build, tests and benchmarks. Bare-metal targets need the
# TamaGo toolchain (see README).
GO ?= go
PKGS := ./...
# TESTFLAGS adds go test flags to race and norace (.ci/run passes -v to
# list every skipped test).
TESTFLAGS ?=

.PHONY: all build test fmt-check vet race norace bench torture fuzz clean

# Bare-metal images: make image / make qemu (TamaGo toolchain needed).
include mk/baremetal.mk
# make imx: the USB armory .imx image (after baremetal.mk, which it extends).
include mk/imx.mk

all: build

build:
	$(GO) build $(PKGS)

## test: gofmt check, go vet, the race-enabled host test suite, and the
## tests that skip under the race detector, without it.
test: fmt-check vet race norace

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(PKGS)

## norace: the tests that skip under the race detector (require.NoRace:
## allocation counts, pools, memory footprints) or shrink under it
## (require.FullSize: 100 MiB to and from the kernel), run without it.
## TestNoRaceCovered (internal/testkit/require) fails unless these two
## lines name exactly the tests that call require.NoRace or FullSize.
NORACE_PKGS := ./app/echo ./flow ./stack ./stack/ipv6 ./stack/tcp
NORACE_RUN := ^(TestAllocsDeviceBusy|TestAllocsSteadyState|TestAllocsTSO|TestBinaryIPv6|TestForwardPoolsBuffers|TestFragmentAllocs|TestIdleConnMemory|TestInvalidAckNoAllocs|TestKernel6ClientToOurListener|TestKernelClientToOurListener|TestKernelClientToOurListenerImpaired|TestKernelClientToOurListenerNoOffload|TestOurClient6ToKernelListener|TestOurClientToKernelListener|TestOurClientToKernelListenerImpaired|TestOurClientToKernelListenerNoOffload)$$
norace:
	$(GO) test -count=1 $(TESTFLAGS) -run '$(NORACE_RUN)' $(NORACE_PKGS)

## bench: side-by-side benchmarks (mirago vs gVisor netstack; mirago's proxy vs HAProxy).
bench:
	$(GO) run ./bench/cmd/benchall
	$(GO) run ./bench/cmd/proxybench

## torture: long hostile-input, fuzz and soak runs (test/hostile).
## MIRAGO_SOAK=2m shortens the soak.
torture:
	MIRAGO_TORTURE=1 $(GO) test -count=1 -timeout 60m -run Torture $(PKGS)

clean:
	rm -rf out
