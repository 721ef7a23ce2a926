// Command proxyconf checks a proxy configuration file and turns it into
// what a bare-metal image links: Go source that sets the image's
// configuration (config.GoSource), added to the image build with
// -overlay, so the image carries the settings but no TOML parser.
// mk/baremetal.mk runs it for `make image APP=proxy CONFIG=FILE`.
//
//	proxyconf [-dhcp] -go OUT.go -overlay OUT.json FILE
//	proxyconf [-dhcp] -tags FILE      # prints the build tags FILE needs
//
// Faults are printed one per line with their line numbers, and it exits 1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mirago/mirago/app/proxy/conffile"
	"github.com/mirago/mirago/app/proxy/config"
)

func main() {
	dhcp := flag.Bool("dhcp", false, "the image has DHCP (and so a resolver): upstreams may be names")
	goOut := flag.String("go", "", "write the Go source here")
	overlay := flag.String("overlay", "", "write the go build -overlay file here (needs -go)")
	tags := flag.Bool("tags", false, "print the build tags the file needs, space-separated")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: proxyconf [-dhcp] (-go OUT.go -overlay OUT.json | -tags) FILE")
		os.Exit(2)
	}
	file := flag.Arg(0)
	// The image's own options are only known with the tags; check what
	// the file can have, then the tags it gets follow from the file.
	f, err := conffile.Load(file, config.Options{Names: *dhcp, Metrics: true, TLS: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *tags {
		fmt.Println(strings.Join(f.BuildTags(), " "))
		return
	}
	if *goOut == "" {
		fmt.Fprintln(os.Stderr, "proxyconf: -go OUT.go or -tags")
		os.Exit(2)
	}
	if err := os.WriteFile(*goOut, []byte(config.GoSource(f, filepath.Base(file))), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *overlay != "" {
		// The generated file joins package main as if it were in
		// app/proxy: the build finds it there through the overlay.
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		abs, _ := filepath.Abs(*goOut)
		o := map[string]map[string]string{"Replace": {filepath.Join(root, "app", "proxy", "zz_linked_config.go"): abs}}
		b, _ := json.Marshal(o)
		if err := os.WriteFile(*overlay, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// moduleRoot finds the directory of go.mod from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("proxyconf: no go.mod above the working directory")
		}
		dir = parent
	}
}
