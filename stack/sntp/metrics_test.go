package sntp

import (
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/metrics"
)

// The metrics endpoint shows the counters (rejections by reason) and the
// status as gauges.
func TestMetrics(t *testing.T) {
	h := newHarness(t, Config{}, srvA)
	h.start()
	h.run(time.Second)
	h.c.Input([]byte("short"), srvA)
	h.c.sync()
	var b strings.Builder
	if err := metrics.Write(&b, metrics.Struct("mirago_ntp", h.c.Metrics(), MetricGauges())); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"mirago_ntp_requests 1\n", "mirago_ntp_replies 1\n", "mirago_ntp_steps 1\n",
		`mirago_ntp_rejected{reason="source"} 1` + "\n", `mirago_ntp_rejected{reason="panic"} 0` + "\n",
		"# TYPE mirago_ntp_synced gauge\nmirago_ntp_synced 1\n", "mirago_ntp_stratum 2\n",
		"# TYPE mirago_ntp_delay_seconds gauge\nmirago_ntp_delay_seconds 0.01\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
