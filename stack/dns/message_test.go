package dns

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queryExampleCom is the query dig +noedns sends for example.com A, with
// ID 0x1234 and RD set.
const queryExampleCom = `
1234 0100 0001 0000 0000 0000
07 6578616d706c65 03 636f6d 00 0001 0001`

// responseWWWGitHub is a recursive resolver's response for www.github.com
// A: a CNAME to github.com and github.com's A record, both owner names and
// the CNAME target compressed.
const responseWWWGitHub = `
1234 8180 0001 0002 0000 0000
03 777777 06 676974687562 03 636f6d 00 0001 0001
c00c 0005 0001 00000e10 0002 c010
c010 0001 0001 0000003c 0004 8c527904`

func TestAppendQueryGolden(t *testing.T) {
	got, err := AppendQuery(nil, 0x1234, "example.com.", TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, queryExampleCom); !bytes.Equal(got, want) {
		t.Fatalf("query\n got %x\nwant %x", got, want)
	}
}

func TestParseQueryGolden(t *testing.T) {
	m, err := ParseMessage(unhex(t, queryExampleCom))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 0x1234 || m.Response || !m.RecursionDesired || m.Opcode != 0 {
		t.Errorf("header = %+v", m.Header)
	}
	if len(m.Questions) != 1 || m.Questions[0] != (Question{"example.com", TypeA, ClassINET}) {
		t.Errorf("questions = %+v", m.Questions)
	}
	if len(m.Answers)+len(m.Authorities)+len(m.Additionals) != 0 {
		t.Errorf("unexpected records: %+v", m)
	}
}

func TestParseResponseGolden(t *testing.T) {
	m, err := ParseMessage(unhex(t, responseWWWGitHub))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Response || !m.RecursionAvailable || m.RCode != RCodeSuccess || m.Truncated {
		t.Errorf("header = %+v", m.Header)
	}
	if len(m.Answers) != 2 {
		t.Fatalf("answers = %+v", m.Answers)
	}
	cname, a := m.Answers[0], m.Answers[1]
	if cname.Name != "www.github.com" || cname.Type != TypeCNAME || cname.Target != "github.com" || cname.TTL != 3600 {
		t.Errorf("cname = %+v", cname)
	}
	if a.Name != "github.com" || a.Type != TypeA || a.A != netip.MustParseAddr("140.82.121.4") || a.TTL != 60 {
		t.Errorf("a = %+v", a)
	}
	ans, ttl, err := answerOf(m, "WWW.GitHub.com.", TypeA)
	if err != nil || len(ans.Addrs) != 1 || ans.Addrs[0] != a.A || ans.CNAME != "github.com" || ttl.Seconds() != 60 {
		t.Errorf("answerOf = %+v %v %v", ans, ttl, err)
	}
}

// TestParseMalformed is the RFC 9267 table: each message must be rejected
// with the given error, without panicking.
func TestParseMalformed(t *testing.T) {
	hdr1q := "0000 8180 0001 0000 0000 0000"
	hdr1a := "0000 8180 0000 0001 0000 0000"
	long := strings.Repeat("3f"+strings.Repeat("61", 63), 4) + "00" // 256 octets
	tests := []struct {
		name string
		msg  string
		want error
	}{
		{"short header", "0000 8180 0001 0000 0000", ErrTruncated},
		{"pointer to itself", hdr1q + "c00c 0001 0001", ErrPointer},
		{"pointer loop", "0000 8180 0002 0000 0000 0000 01 61 c0 12 0001 0001 01 62 c0 0c 0001 0001", ErrPointer},
		{"forward pointer", hdr1q + "c0 12 0001 0001 01 61 00", ErrPointer},
		{"pointer out of bounds", hdr1q + "ffff 0001 0001", ErrPointer},
		{"pointer into header", hdr1q + "c0 02 0001 0001", ErrPointer},
		{"truncated pointer", "0000 8180 0001 0000 0000 0000 0000 c0", ErrTruncated},
		{"label 64", hdr1q + "40" + strings.Repeat("61", 64) + "00 0001 0001", ErrLabel},
		{"label type 0x80", hdr1q + "80 0001 0001 00", ErrLabel},
		{"name 256 octets", hdr1q + long + "0001 0001", ErrNameTooLong},
		{"name too long via pointers", "0000 8180 0002 0000 0000 0000 " +
			strings.Repeat("3f"+strings.Repeat("61", 63), 3) + "00 0001 0001 " + // 193 octets at 12
			"3f" + strings.Repeat("62", 63) + "c00c 0001 0001", ErrNameTooLong},
		{"label past end", hdr1q + "05 6162", ErrTruncated},
		{"question count too large", "0000 8180 0002 0000 0000 0000 01 61 00 0001 0001", ErrTruncated},
		{"answer count 65535", "0000 8180 0000 ffff 0000 0000 00 0001 0001 00000000 0000", ErrTruncated},
		{"question type missing", hdr1q + "01 61 00 0001", ErrTruncated},
		{"truncated RR", hdr1a + "00 0001 0001 0000", ErrTruncated},
		{"RDLENGTH past end", hdr1a + "00 0001 0001 00000000 000a 01020304", ErrRDLength},
		{"A RDLENGTH 5", hdr1a + "00 0001 0001 00000000 0005 0102030405", ErrRDLength},
		{"A RDLENGTH 3", hdr1a + "00 0001 0001 00000000 0003 010203", ErrRDLength},
		{"CNAME past RDLENGTH", hdr1a + "00 0005 0001 00000000 0002 01 61 00", ErrTruncated},
		{"CNAME short of RDLENGTH", hdr1a + "00 0005 0001 00000000 0004 01 61 00 00", ErrRDLength},
		{"SOA short", "0000 8183 0000 0000 0001 0000 00 0006 0001 00000000 0006 00 00 00000001", ErrRDLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage(unhex(t, tt.msg))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseMessage = %+v, %v; want %v", m, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestParseNameEscapes(t *testing.T) {
	m, err := ParseMessage(unhex(t, "0000 0100 0001 0000 0000 0000 03 612e5c 02 0041 00 0001 0001"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Questions[0].Name; got != `a\046\092.\000A` {
		t.Errorf("name = %q", got)
	}
}

func TestAppendQueryBadNames(t *testing.T) {
	for _, name := range []string{
		"a..b", strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefg.", 32) + "com", `a\.b`, "a b.test", "caf\xc3\xa9.test", "tab\t.test",
	} {
		if b, err := AppendQuery(nil, 1, name, TypeA); !errors.Is(err, ErrBadName) || len(b) != 0 {
			t.Errorf("AppendQuery(%q) = %x, %v; want ErrBadName", name, b, err)
		}
	}
	// 253 characters (255 octets on the wire) is the longest valid name.
	name := strings.Repeat(strings.Repeat("a", 62)+".", 4) + "a"
	if _, err := AppendQuery(nil, 1, name, TypeA); err != nil {
		t.Errorf("longest name: %v", err)
	}
	if _, err := AppendQuery(nil, 1, name+"a", TypeA); err == nil {
		t.Errorf("254-character name accepted")
	}
}

// responseAliasAAAA is dnsmasq's (2.89) response to an AAAA query for
// alias.test, a CNAME to v6.test whose AAAA record is 2001:db8::5:
// both owner names and the CNAME target compressed.
const responseAliasAAAA = `
2345 8580 0001 0002 0000 0000
05 616c696173 04 74657374 00 001c 0001
c00c 0005 0001 00000000 0009 02 7636 04 74657374 00
c028 001c 0001 00000000 0010 20010db8000000000000000000000005`

// queryV6AAAA is our AAAA query for v6.test with ID 0x1234.
const queryV6AAAA = `
1234 0100 0001 0000 0000 0000
02 7636 04 74657374 00 001c 0001`

func TestAAAAGolden(t *testing.T) {
	q, err := AppendQuery(nil, 0x1234, "v6.test", TypeAAAA)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, queryV6AAAA); !bytes.Equal(q, want) {
		t.Fatalf("query\n got %x\nwant %x", q, want)
	}
	m, err := ParseMessage(unhex(t, responseAliasAAAA))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 2 || m.Answers[0].Type != TypeCNAME || m.Answers[0].Target != "v6.test" {
		t.Fatalf("answers = %+v", m.Answers)
	}
	if rr := m.Answers[1]; rr.Type != TypeAAAA || rr.Name != "v6.test" || rr.AAAA != netip.MustParseAddr("2001:db8::5") || rr.A.IsValid() {
		t.Fatalf("AAAA record = %+v", rr)
	}
	a, _, err := answerOf(m, "alias.test", TypeAAAA)
	if err != nil || len(a.Addrs) != 1 || a.Addrs[0] != netip.MustParseAddr("2001:db8::5") || a.CNAME != "v6.test" {
		t.Fatalf("answerOf = %+v, %v", a, err)
	}
	if _, _, err := answerOf(m, "alias.test", TypeA); !errors.Is(err, ErrNoData) {
		t.Fatalf("A from an AAAA answer: %v, want ErrNoData", err)
	}
}

func TestAAAABadLength(t *testing.T) {
	b := unhex(t, responseAliasAAAA)
	// Shorten the AAAA record's RDLENGTH to 4 (an A record's): refused.
	b[len(b)-18] = 0
	b[len(b)-17] = 4
	if _, err := ParseMessage(b[:len(b)-12]); !errors.Is(err, ErrRDLength) {
		t.Fatalf("4-byte AAAA: %v, want ErrRDLength", err)
	}
}
