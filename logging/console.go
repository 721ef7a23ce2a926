package logging

import (
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Console writes one line per record in log/slog's text format (logfmt):
//
//	level=INFO msg="echo serving" board=qemu-virt port=7
//
// without a time until SetClock gives it a clock (a board has no wall
// clock until NTP sets it), and then with one first, as log/slog:
//
//	time=2026-11-24T10:00:00.123Z level=INFO msg="echo serving" board=qemu-virt port=7
//
// Records below the minimum level are dropped. It is safe for concurrent
// use; a record is written with one Write call.
type Console struct {
	mu     sync.Mutex
	w      io.Writer
	min    Level
	prefix []byte // the fixed attributes, formatted
	buf    []byte
	stamp  func(b []byte) []byte // appends the time; nil: none
}

// SetClock makes every later record start with time=now(), in
// log/slog's text format (RFC 3339, milliseconds, UTC here); nil removes
// it.
func (c *Console) SetClock(now func() time.Time) {
	var stamp func([]byte) []byte
	if now != nil {
		// Only images that set a clock link time's formatter (about 5 KB):
		// log refers to it only through this function value.
		stamp = func(b []byte) []byte { return now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00") }
	}
	c.mu.Lock()
	c.stamp = stamp
	c.mu.Unlock()
}

// NewConsole returns a Console writing records at min and above to w,
// each followed by the fixed attributes attrs (keys and values, as in a
// record).
func NewConsole(w io.Writer, min Level, attrs ...any) *Console {
	return &Console{w: w, min: min, prefix: appendAttrs(nil, attrs)}
}

// Debug logs at LevelDebug.
func (c *Console) Debug(msg string, args ...any) { c.log(LevelDebug, msg, args) }

// Info logs at LevelInfo.
func (c *Console) Info(msg string, args ...any) { c.log(LevelInfo, msg, args) }

// Warn logs at LevelWarn.
func (c *Console) Warn(msg string, args ...any) { c.log(LevelWarn, msg, args) }

// Error logs at LevelError.
func (c *Console) Error(msg string, args ...any) { c.log(LevelError, msg, args) }

// Enabled reports whether records at level are written.
func (c *Console) Enabled(level Level) bool { return level >= c.min }

func (c *Console) log(level Level, msg string, args []any) {
	if level < c.min {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf[:0]
	if c.stamp != nil {
		b = append(b, "time="...)
		b = c.stamp(b)
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = append(b, level.String()...)
	b = append(b, " msg="...)
	b = appendString(b, msg)
	b = append(b, c.prefix...)
	b = appendAttrs(b, args)
	b = append(b, '\n')
	c.w.Write(b) // a console has nowhere to report its own failure
	c.buf = b
}

// appendAttrs appends " key=value" for each pair in args; a trailing key
// without a value, or a non-string key, is logged as the value of
// !BADKEY, as log/slog does.
func appendAttrs(b []byte, args []any) []byte {
	for len(args) > 0 {
		key, ok := args[0].(string)
		if !ok || len(args) == 1 {
			b = append(b, " !BADKEY="...)
			b = appendValue(b, args[0])
			args = args[1:]
			continue
		}
		b = append(b, ' ')
		b = appendString(b, key)
		b = append(b, '=')
		b = appendValue(b, args[1])
		args = args[2:]
	}
	return b
}

// appendValue formats v as log/slog's text handler would for the kinds
// the stack logs: strings, errors, numbers, booleans, durations, byte and
// string slices, and Stringers. Anything else prints as its type in angle
// brackets ("<[]int>"): formatting arbitrary values needs package fmt,
// which images do not link (about 0.25 MB).
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "<nil>"...)
	case string:
		return appendString(b, v)
	case error:
		return appendString(b, v.Error())
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int8:
		return strconv.AppendInt(b, int64(v), 10)
	case int16:
		return strconv.AppendInt(b, int64(v), 10)
	case int32:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case float32:
		return strconv.AppendFloat(b, float64(v), 'g', -1, 64) // as slog: widened
	case time.Duration:
		return append(b, v.String()...)
	case interface{ String() string }:
		return appendString(b, v.String())
	case []byte:
		return appendString(b, string(v))
	case []string:
		return appendString(b, "["+strings.Join(v, " ")+"]")
	}
	return appendString(b, "<"+reflect.TypeOf(v).String()+">")
}

// appendString appends s, quoted if log/slog's text handler would quote
// it: empty, or holding a space, '=', '"', invalid UTF-8 or a rune that
// strconv.IsPrint rejects (control characters and other spaces). It
// avoids package unicode, whose tables would grow a bare-metal image.
func appendString(b []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == ' ' || r == '=' || r == '"' || !strconv.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
