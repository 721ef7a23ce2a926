//go:build tamago && !qemuvirt && !usbarmory

package boardrun

// A TamaGo build needs a board tag: -tags qemuvirt or -tags usbarmory
// (make image BOARD=qemu-virt|usbarmory sets it). Without one the build
// stops here, on this undefined name.
var _ = build_tag_qemuvirt_or_usbarmory_required
