// Package logging is the logging interface of mirago's packages and a
// small console logger for bare-metal images.
//
// The stack, the flows and the apps log through Logger, which
// *log/slog.Logger satisfies: host programs pass a slog logger as before.
// Nothing here imports log/slog, so a bare-metal image that logs through
// Console does not link slog, its handlers and encoding/json (about
// 0.4 MB of a qemu-virt image; see bench/README.md).
package logging

// Logger receives log records: a message and alternating keys and
// values, as in log/slog (a key without a value is logged under !BADKEY).
// *slog.Logger and *Console satisfy it.
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// Level is a record's severity. The values are log/slog's, so that
// levels read the same in both.
type Level int

// The levels, as in log/slog.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// String returns the level's name as log/slog prints it.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return "LEVEL(" + itoa(int64(l)) + ")"
}

// Discard is a Logger that drops every record.
var Discard Logger = discard{}

type discard struct{}

func (discard) Debug(string, ...any) {}
func (discard) Info(string, ...any)  {}
func (discard) Warn(string, ...any)  {}
func (discard) Error(string, ...any) {}

// OrDiscard returns l, or Discard if l is nil (an untyped nil or a nil
// *Console).
func OrDiscard(l Logger) Logger {
	if l == nil {
		return Discard
	}
	if c, ok := l.(*Console); ok && c == nil {
		return Discard
	}
	return l
}
