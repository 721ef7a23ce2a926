package flow_test

import (
	"context"
	"fmt"
	"io"

	"github.com/mirago/mirago/flow"
)

// A Pipe can be half-closed: after CloseWrite the peer reads EOF and can
// still answer.
func ExamplePipe() {
	a, b := flow.Pipe(flow.PipeOptions{})
	defer a.Close()
	defer b.Close()
	a.Write([]byte("question"))
	a.CloseWrite()
	q, _ := io.ReadAll(b)
	b.Write([]byte("answer to " + string(q)))
	b.CloseWrite()
	ans, _ := io.ReadAll(a)
	fmt.Println(string(ans))
	// Output: answer to question
}

// Proxy joins two flows and propagates half-close both ways.
func ExampleProxy() {
	client, pa := flow.Pipe(flow.PipeOptions{})
	pb, server := flow.Pipe(flow.PipeOptions{})
	done := make(chan flow.Result)
	go func() {
		res, _ := flow.Proxy(context.Background(), pa, pb, flow.Options{})
		done <- res
	}()
	client.Write([]byte("ping"))
	client.CloseWrite()
	req, _ := io.ReadAll(server)
	server.Write([]byte("pong"))
	server.CloseWrite()
	resp, _ := io.ReadAll(client)
	res := <-done
	fmt.Println(string(req), string(resp), res.AToB, res.BToA)
	// Output: ping pong 4 4
}
