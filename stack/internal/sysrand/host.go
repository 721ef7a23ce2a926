//go:build !tamago

package sysrand

import "crypto/rand"

var reader = rand.Reader
