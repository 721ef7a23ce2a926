# mk/imx.mk: `make imx APP=echo` builds out/$(APP)-usbarmory.imx, a boot
# image for the USB armory Mk II LAN: the TamaGo ELF that mk/baremetal.mk's
# `image` target builds with BOARD=usbarmory, flattened to a raw binary and
# put behind an i.MX header (IVT, boot data and the DCD that sets up the
# DDR) by U-Boot's mkimage. It prints the image path last. APP=boottest
# builds test/boot/enetnet. See docs/usbarmory.md for booting it.
#
# Needs: the TamaGo toolchain (see mk/baremetal.mk), an objcopy that reads
# ARM ELF (arm-none-eabi-objcopy or llvm-objcopy), and mkimage (Debian:
# u-boot-tools). Each one missing is named, with how to get it.

# Included from the Makefile after mk/baremetal.mk; also usable alone
# (make -f mk/imx.mk imx APP=echo).
ifeq ($(origin BOARD_TAG),undefined)
include $(dir $(lastword $(MAKEFILE_LIST)))baremetal.mk
endif

# The DCD (DDR set-up for 512 MiB) ships with tamago's mk2 board package.
IMX_DCD_SRC    ?= $(shell $(GO) list -m -f '{{.Dir}}' github.com/usbarmory/tamago)/board/usbarmory/mk2/imximage.cfg
IMX_OBJCOPY    ?= $(or $(shell command -v arm-none-eabi-objcopy),$(shell command -v llvm-objcopy),$(shell command -v arm-linux-gnueabihf-objcopy))
IMX_MKIMAGE    ?= $(shell command -v mkimage)

# IMAGE (the ELF), OUT and TEXT_START come from mk/baremetal.mk, evaluated
# with BOARD=usbarmory for this target and its prerequisites.
IMX_BASE = $(OUT)/$(APP)-usbarmory
IMX_BIN  = $(IMX_BASE).bin
IMX_DCD  = $(IMX_BASE).dcd
IMX_IMG  = $(IMX_BASE).imx

# The sections that make up the loaded image, in address order from
# TEXT_START, as in tamago-example's Makefile plus Go 1.26's .go.fipsinfo
# and .go.module. The .note sections sit below TEXT_START and stay out.
# Nothing clears .bss at boot, so both .bss sections are written out as
# zeroes (.noptrbss holds Go 1.26's 32 MiB FIPS entropy scratch buffer,
# which is why the image is about 35 MiB).
IMX_SECTIONS := -j .text -j .rodata -j .shstrtab -j .typelink -j .itablink \
	-j .gopclntab -j .go.buildinfo -j .go.fipsinfo -j .go.module -j .noptrdata -j .data \
	-j .bss --set-section-flags .bss=alloc,load,contents \
	-j .noptrbss --set-section-flags .noptrbss=alloc,load,contents

.PHONY: imx imx-check

## imx: USB armory Mk II boot image out/$(APP)-usbarmory.imx (APP=echo|proxy|boottest)
imx: BOARD = usbarmory
imx: imx-check image
	$(IMX_OBJCOPY) $(IMX_SECTIONS) -O binary $(IMAGE) $(IMX_BIN)
	cp -f $(IMX_DCD_SRC) $(IMX_DCD) && chmod 644 $(IMX_DCD)
	$(IMX_MKIMAGE) -n $(IMX_DCD) -T imximage -e $(TEXT_START) -d $(IMX_BIN) $(IMX_IMG) >/dev/null
	@# The IVT entry (offset 4) must be the ELF entry point (e_entry, offset 24).
	dd if=$(IMAGE) of=$(IMX_IMG) bs=1 count=4 skip=24 seek=4 conv=notrunc status=none
	@echo $(IMX_IMG)

## imx-check: fail, naming each missing tool, unless `make imx` can run.
imx-check:
	@ok=1; \
	if [ -z "$(IMX_OBJCOPY)" ]; then ok=0; \
		echo "imx: no objcopy for ARM ELF: apt-get install binutils-arm-none-eabi (or llvm), or set IMX_OBJCOPY" >&2; fi; \
	if [ -z "$(IMX_MKIMAGE)" ]; then ok=0; \
		echo "imx: mkimage not found: apt-get install u-boot-tools (Debian), or set IMX_MKIMAGE" >&2; fi; \
	if [ ! -f "$(IMX_DCD_SRC)" ]; then ok=0; \
		echo "imx: DCD file not found: $(IMX_DCD_SRC) (run: go mod download github.com/usbarmory/tamago)" >&2; fi; \
	[ $$ok = 1 ]
