//go:build tamago && arm && !mirago_prof

package qemuvirt

// startProfiler does nothing: the profiler is built only into PROF=1
// images (tag mirago_prof, prof.go).
func startProfiler() {}
