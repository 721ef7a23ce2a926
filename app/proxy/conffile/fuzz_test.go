package conffile

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mirago/mirago/app/proxy/config"
)

// FuzzParse: any document gives a valid configuration or faults, each
// with a position, never a panic; a configuration it accepts passes
// Validate and turns into Go source.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../proxy.example.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[listener.a]\nport = 80\npool = \"p\"\n[pool.p]\nupstreams = [\"10.0.0.1:80\"]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := config.Options{Names: true, Metrics: true}
		cf, err := Parse("f.toml", b, o)
		if err != nil {
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error of type %T: %v", err, err)
			}
			for _, e := range es {
				if e.Where == "" || e.Msg == "" {
					t.Fatalf("fault without a place: %q", e.Error())
				}
			}
			return
		}
		if es := cf.Validate(o); len(es) > 0 {
			t.Fatalf("accepted, then invalid: %v", es)
		}
		if src := config.GoSource(cf, "f.toml"); !strings.Contains(src, "linkedConfig") {
			t.Fatal("no Go source")
		}
	})
}
