package mld

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
)

// Golden frames from ../ndp/testdata/linux-nd.pcap (recorded by
// ../ndp/testdata/linux-nd.sh): Linux hosts and a Linux bridge acting as
// MLDv2 querier. Each carries a hop-by-hop header with the router alert
// option before the ICMPv6 message (RFC 3810 §5).
var (
	// goldenJoin is host H (52:54:00:12:34:56) joining its solicited-node
	// group: one CHANGE_TO_EXCLUDE record (frame 13).
	goldenJoin = "33330000001652540012345686dd6000000000240001fe80000000000000505400fffe123456ff0200000000000000000000000000163a000502000001008f00b8e40000000104000000ff0200000000000000000001ff123456"
	// goldenQuery is the bridge's general query (frame 52): maximum
	// response code 10000, QRV 2, QQIC 125.
	goldenQuery = "3333000000015254000000fe86dd6000000000240001fe80000000000000505400fffe0000feff0200000000000000000000000000013a00050200000000820006452710000000000000000000000000000000000000027d0000"
	// goldenCurrent is H's answer: MODE_IS_EXCLUDE (frame 59).
	goldenCurrent = "33330000001652540012345686dd6000000000240001fe80000000000000505400fffe123456ff0200000000000000000000000000163a000502000001008f00bae40000000102000000ff0200000000000000000001ff123456"
	// goldenRouterReport is the router R's answer, four records (frame 22).
	goldenRouterReport = "33330000001652540000000186dd6000000000600001fe80000000000000505400fffe000001ff0200000000000000000000000000163a000502000001008f0021620000000402000000ff0200000000000000000001ff00000002000000ff0200000000000000000001ff00000102000000ff05000000000000000000000000000202000000ff020000000000000000000000000002"
)

func addr(s string) inet.Addr { return inet.AddrFromNetip(netip.MustParseAddr(s)) }

// mldOf returns the ICMPv6 message of a golden frame (IPv6 header, an
// 8-byte hop-by-hop header with router alert, ICMPv6) and its addresses.
func mldOf(t *testing.T, frameHex string) (src, dst inet.Addr, m []byte) {
	t.Helper()
	f, err := hex.DecodeString(frameHex)
	if err != nil {
		t.Fatal(err)
	}
	ip := f[14:]
	if ip[6] != inet.ProtoHopByHop || ip[7] != 1 || !bytes.Equal(ip[40:46], hopByHop[:6]) {
		t.Fatalf("not hop limit 1 with a router alert header: % x", ip[:48])
	}
	src, dst = inet.AddrFrom16([16]byte(ip[8:24])), inet.AddrFrom16([16]byte(ip[24:40]))
	m = ip[48:]
	if !icmpv6.Message(m).ValidChecksum(src, dst) {
		t.Fatal("golden checksum does not verify")
	}
	return src, dst, m
}

func checkEncode(t *testing.T, f encoder, src, dst inet.Addr, want []byte) {
	t.Helper()
	b := make([]byte, f.Len())
	if n, err := f.Encode(b); err != nil || n != len(b) {
		t.Fatalf("Encode: %d, %v", n, err)
	}
	icmpv6.SetChecksum(b, src, dst, 0, 0)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded\n% x\nwant\n% x", b, want)
	}
	if _, err := f.Encode(b[:len(b)-1]); err != inet.ErrBufTooSmall {
		t.Fatalf("short buffer: %v", err)
	}
}

func TestGoldenReports(t *testing.T) {
	sn := addr("ff02::1:ff12:3456")
	for _, tc := range []struct {
		name, frame string
		want        ReportFields
	}{
		{"join", goldenJoin, ReportFields{[]RecordFields{{ChangeToExclude, sn, nil}}}},
		{"current state", goldenCurrent, ReportFields{[]RecordFields{{ModeIsExclude, sn, nil}}}},
		{"router, four groups", goldenRouterReport, ReportFields{[]RecordFields{
			{ModeIsExclude, addr("ff02::1:ff00:0"), nil},
			{ModeIsExclude, addr("ff02::1:ff00:1"), nil},
			{ModeIsExclude, addr("ff05::2"), nil},
			{ModeIsExclude, addr("ff02::2"), nil},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst, m := mldOf(t, tc.frame)
			r, err := ParseReport(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Fields(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed %+v\nwant   %+v", got, tc.want)
			}
			checkEncode(t, &tc.want, src, dst, m)
		})
	}
}

func TestGoldenQuery(t *testing.T) {
	src, dst, m := mldOf(t, goldenQuery)
	q, err := ParseQuery(m)
	if err != nil {
		t.Fatal(err)
	}
	want := QueryFields{MaxRespCode: 10000, QRV: 2, QQIC: 125}
	if got := q.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	if !q.IsV2() || q.MaxRespDelay() != 10*time.Second || q.QueryInterval() != 125*time.Second || q.Group() != (inet.Addr{}) {
		t.Fatalf("v2 %v, delay %v, interval %v", q.IsV2(), q.MaxRespDelay(), q.QueryInterval())
	}
	checkEncode(t, &want, src, dst, m)
}

func TestQueryCodes(t *testing.T) {
	q := func(code uint16, qqic uint8, v1 bool) Query {
		f := QueryFields{V1: v1, MaxRespCode: code, QQIC: qqic}
		b := make([]byte, f.Len())
		f.Encode(b)
		return Query(b)
	}
	for _, tc := range []struct {
		code  uint16
		v1    bool
		delay time.Duration
	}{
		{1000, false, time.Second},
		{0x7fff, false, 32767 * time.Millisecond},
		// RFC 3810 §5.1.3: exp 0, mant 0: 0x1000 << 3 ms.
		{0x8000, false, 32768 * time.Millisecond},
		{0xffff, false, time.Duration(0x1fff<<10) * time.Millisecond},
		{0xffff, true, 65535 * time.Millisecond},
	} {
		if got := q(tc.code, 0, tc.v1).MaxRespDelay(); got != tc.delay {
			t.Errorf("code %#x v1 %v: %v, want %v", tc.code, tc.v1, got, tc.delay)
		}
	}
	if got := q(0, 0x80, false).QueryInterval(); got != 128*time.Second {
		t.Errorf("QQIC 0x80: %v", got)
	}
	if got := q(0, 0xff, false).QueryInterval(); got != time.Duration(0x1f<<10)*time.Second {
		t.Errorf("QQIC 0xff: %v", got)
	}
}

func TestParseRejects(t *testing.T) {
	mk := func(typ byte, n int) []byte {
		b := make([]byte, n)
		b[0] = typ
		return b
	}
	withSources := mk(TypeQuery, 28)
	withSources[27] = 1
	report := mk(TypeReportV2, 8)
	report[7] = 1
	recSrc := append(mk(TypeReportV2, 8), make([]byte, 20)...)
	recSrc[7], recSrc[8+3] = 1, 1
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"query 23", errOf(ParseQuery(mk(TypeQuery, 23))), ErrShort},
		{"query 26", errOf(ParseQuery(mk(TypeQuery, 26))), ErrLength},
		{"query sources past the end", errOf(ParseQuery(withSources)), ErrShort},
		{"query of type 131", errOf(ParseQuery(mk(TypeReportV1, 24))), ErrType},
		{"report counting a missing record", errOf(ParseReport(report)), ErrShort},
		{"record counting a missing source", errOf(ParseReport(recSrc)), ErrShort},
		{"v1 short", errOf(ParseV1(mk(TypeDoneV1, 23))), ErrShort},
		{"v1 of type 143", errOf(ParseV1(mk(TypeReportV2, 24))), ErrType},
		{"empty", errOf(ParseReport(nil)), ErrShort},
	} {
		if tc.err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func errOf[V any](_ V, err error) error { return err }

func TestV1RoundTrip(t *testing.T) {
	f := V1Fields{TypeDoneV1, addr("ff02::1:ff00:1")}
	b := make([]byte, f.Len())
	f.Encode(b)
	m, err := ParseV1(b)
	if err != nil || m.Fields() != f {
		t.Fatalf("%+v, %v", m.Fields(), err)
	}
}
