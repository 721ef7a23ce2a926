module github.com/mirago/mirago

go 1.26.0

tool github.com/usbarmory/tamago/cmd/tamago

require (
	github.com/usbarmory/tamago v1.26.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
