// Package xerr builds wrapped errors without package fmt.
//
// Bare-metal images link no fmt (nor, through it, reflect's printing
// machinery): about 0.25 MB of a qemu-virt image. Code that ends up in an
// image builds its error messages with strconv and wraps with Wrap instead
// of fmt.Errorf("...: %w", err). TestImageDeps in package bench keeps fmt
// out of the echo image.
package xerr

// Wrap returns an error whose message is msg + ": " + err.Error() and
// which unwraps to err, like fmt.Errorf(msg+": %w", err). A nil err gives
// a nil error.
func Wrap(msg string, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{msg: msg, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
