package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Record is one captured frame.
type Record struct {
	Time    time.Time
	Data    []byte // the captured bytes (at most the snap length)
	OrigLen int    // the frame's length on the wire
}

// Reader reads a pcap stream of either timestamp resolution and either byte
// order.
type Reader struct {
	r        *bufio.Reader
	order    binary.ByteOrder
	nano     bool
	snap     uint32
	linkType uint32
}

// NewReader reads the file header from r.
func NewReader(r io.Reader) (*Reader, error) {
	pr := &Reader{r: bufio.NewReader(r)}
	var h [fileHeaderLen]byte
	if _, err := io.ReadFull(pr.r, h[:]); err != nil {
		return nil, fmt.Errorf("pcap: reading file header: %w", err)
	}
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch o.Uint32(h[0:]) {
		case MagicMicro:
			pr.order = o
		case MagicNano:
			pr.order, pr.nano = o, true
		}
		if pr.order != nil {
			break
		}
	}
	if pr.order == nil {
		return nil, fmt.Errorf("pcap: bad magic %#x", binary.LittleEndian.Uint32(h[0:]))
	}
	pr.snap = pr.order.Uint32(h[16:])
	pr.linkType = pr.order.Uint32(h[20:])
	return pr, nil
}

// LinkType is the file's link-layer type (1 for Ethernet).
func (r *Reader) LinkType() uint32 { return r.linkType }

// Nanosecond reports whether timestamps have nanosecond resolution.
func (r *Reader) Nanosecond() bool { return r.nano }

// Next returns the next record, or io.EOF at a clean end of file.
func (r *Reader) Next() (Record, error) {
	var h [recordHeaderLen]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("pcap: truncated record header: %w", err)
	}
	sec, sub := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > max(r.snap, SnapLen) || incl > 1<<24 {
		return Record{}, fmt.Errorf("pcap: record length %d exceeds snap length %d", incl, r.snap)
	}
	data := make([]byte, incl)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return Record{}, fmt.Errorf("pcap: truncated record: %w", err)
	}
	ns := int64(sub)
	if !r.nano {
		ns *= 1000
	}
	return Record{Time: time.Unix(int64(sec), ns), Data: data, OrigLen: int(orig)}, nil
}

// ReadFile reads every record of the pcap file at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		return nil, err
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}
