// Package metricstest scrapes the metrics endpoint from tests.
package metricstest

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/metrics"
)

// Scrape fetches the metrics endpoint at addr with net/http and parses
// it, checking the status and the content type.
func Scrape(t testing.TB, addr netip.AddrPort) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metrics.ContentType {
		t.Fatalf("scrape %s: %s, Content-Type %q", addr, resp.Status, resp.Header.Get("Content-Type"))
	}
	m, err := metrics.Parse(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	return m
}
