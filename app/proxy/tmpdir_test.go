//go:build !tamago

package main

import (
	"os"
	"testing"
)

var sharedTmp string

// tempDirOutsideTest returns a directory that lives as long as the test
// binary (the build is shared by several tests).
func tempDirOutsideTest() (string, error) {
	if sharedTmp != "" {
		return sharedTmp, nil
	}
	d, err := os.MkdirTemp("", "mirago-proxy-test")
	sharedTmp = d
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedTmp != "" {
		os.RemoveAll(sharedTmp)
	}
	os.Exit(code)
}
