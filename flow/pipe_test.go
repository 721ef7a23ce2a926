package flow_test

import (
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

func TestPipeSemantics(t *testing.T) {
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		return flow.Pipe(flow.PipeOptions{})
	})
}

func TestPipeSmallBufferSemantics(t *testing.T) {
	flowtest.Run(t, func(t *testing.T) (a, b flow.Flow) {
		return flow.Pipe(flow.PipeOptions{BufferSize: 1000})
	})
}

func TestProxyOverPipes(t *testing.T) {
	flowtest.RunProxy(t, func(t *testing.T) (a, b flow.Flow) {
		return flow.Pipe(flow.PipeOptions{})
	})
}
