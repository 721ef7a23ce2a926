//go:build tamago && arm

package enet

// hwPort: the port over tamago's *enet.ENET, plus the few registers tamago
// does not expose a way to read or write without side effects.

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/usbarmory/tamago/soc/nxp/enet"
)

// PHY management registers (IEEE 802.3-2008 22.2.4).
const (
	phyBMSR       = 1 // basic mode status register
	bmsrLinkUp    = 2 // link status bit, latching low
	linkCacheTime = time.Second
)

type hwPort struct {
	hw  *enet.ENET
	phy int // PHY address on MDIO

	// inflight counts frames queued since the MAC was last seen with no
	// ready descriptor left; guarded by Device.txMu.
	inflight int
	// txErrs counts transmit error events; guarded by Device.txMu.
	txErrs uint32

	linkMu sync.Mutex
	linkAt time.Time // when link was last read from the PHY
	link   bool
}

func (p *hwPort) reg(off uint32) *uint32 {
	return (*uint32)(unsafe.Add(unsafe.Pointer(nil), uintptr(p.hw.Base+off)))
}

// Tx implements port.Tx.
func (p *hwPort) Tx(frame []byte) {
	p.hw.Tx(frame)
	p.inflight++
}

// TxReady implements port.TxReady. TDAR.TDAR stays set while ready
// descriptors remain in the transmit ring and is cleared by the MAC once it
// has none left (22.5.4 Transmit Descriptor Active Register (ENETx_TDAR),
// IMX6ULLRM). While it is clear every descriptor is free; while it is set,
// at most inflight descriptors are still owned by the MAC, so keeping
// inflight below the ring size never overwrites a frame not yet sent.
func (p *hwPort) TxReady() bool {
	if atomic.LoadUint32(p.reg(enet.ENETx_TDAR))&(1<<enet.TDAR_ACTIVE) == 0 {
		p.inflight = 0
	}
	return p.inflight < p.hw.RingSize-1
}

// Transmit error events in EIR (p889, 22.5.1, IMX6ULLRM): babbling
// transmit, bus error (a DMA access failed), late collision, collision
// retry limit, transmit FIFO underrun. The collision events cannot occur in
// the full-duplex mode tamago sets.
const txErrorEvents = 1<<enet.IRQ_BABT | 1<<enet.IRQ_EBERR | 1<<enet.IRQ_LC |
	1<<enet.IRQ_RL | 1<<enet.IRQ_UN

// TxErrors implements port.TxErrors: it counts, and clears, the transmit
// error events set in EIR since the last call. Several errors between two
// calls count once, and tamago's MDIO transfers clear EIR whole, so the
// count is a lower bound.
func (p *hwPort) TxErrors() uint32 {
	eir := p.reg(enet.ENETx_EIR)
	if e := atomic.LoadUint32(eir) & txErrorEvents; e != 0 {
		atomic.StoreUint32(eir, e)
		p.txErrs += uint32(bits.OnesCount32(e))
	}
	return p.txErrs
}

// Rx implements port.Rx.
func (p *hwPort) Rx() []byte { return p.hw.Rx() }

// RxErrors implements port.RxErrors from the receive errors tamago counts
// from the buffer descriptor status (p1014, Table 22-35, IMX6ULLRM).
func (p *hwPort) RxErrors() uint32 {
	s := &p.hw.Stats
	return s.FrameLengthViolation + s.NonOctetAlignedFrame + s.CRCOrFrameError +
		s.Overrun + s.FrameTooSmall + s.FrameTooLarge
}

// AckRx implements port.AckRx. EIR is write 1 to clear (p889, 22.5.1,
// IMX6ULLRM); only RXF is written, unlike ENET.ClearInterrupt, whose
// read-modify-write would also clear the MII event an MDIO transfer may be
// waiting for.
func (p *hwPort) AckRx() {
	atomic.StoreUint32(p.reg(enet.ENETx_EIR), 1<<enet.IRQ_RXF)
}

// EnableRxIRQ implements port.EnableRxIRQ with a plain write of EIMR
// (p891, 22.5.2, IMX6ULLRM): RXF is the only event this driver unmasks, and
// a single store cannot be torn by the interrupt goroutine.
func (p *hwPort) EnableRxIRQ(on bool) {
	var v uint32
	if on {
		v = 1 << enet.IRQ_RXF
	}
	atomic.StoreUint32(p.reg(enet.ENETx_EIMR), v)
}

// LinkUp implements port.LinkUp from the PHY's BMSR, read at most once a
// second. The link bit latches low, so the register is read twice to get
// the current state.
func (p *hwPort) LinkUp() bool {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	if now := time.Now(); p.linkAt.IsZero() || now.Sub(p.linkAt) >= linkCacheTime {
		p.hw.ReadPHYRegister(p.phy, phyBMSR)
		p.link = p.hw.ReadPHYRegister(p.phy, phyBMSR)&(1<<bmsrLinkUp) != 0
		p.linkAt = now
	}
	return p.link
}

// Group hash table registers (p922-p923, 22.5.25 Descriptor Group Upper
// Address Register (ENETx_GAUR), 22.5.26 Descriptor Group Lower Address
// Register (ENETx_GALR), IMX6ULLRM); tamago names neither.
const (
	enetGAUR = 0x0120
	enetGALR = 0x0124
)

// SetGroupHash implements port.SetGroupHash.
func (p *hwPort) SetGroupHash(high, low uint32) {
	atomic.StoreUint32(p.reg(enetGAUR), high)
	atomic.StoreUint32(p.reg(enetGALR), low)
}
