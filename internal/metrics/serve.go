package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the stack's counters followed by the families app
// returns (app may be nil) at any path.
func Handler(s *stack.Stack, app func() []Family) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		fams := Stack(s.Stats())
		if app != nil {
			fams = append(fams, app()...)
		}
		w.Header().Set("Content-Type", ContentType)
		if r.Method == http.MethodHead {
			return
		}
		Write(w, fams)
	})
}

// Serve serves Handler(s, app) over HTTP on TCP port of our own stack
// until ctx ends (see ServeListener). It returns an error only if it
// cannot listen.
func Serve(ctx context.Context, s *stack.Stack, port uint16, app func() []Family, log *slog.Logger) error {
	ln, err := s.TCP.Listen(port)
	if err != nil {
		return err
	}
	ServeListener(ctx, s, ln, app, log)
	return nil
}

// ServeListener serves Handler(s, app) over HTTP on ln, a listener of our
// own stack, until ctx ends, then shuts the server down, waiting up to a
// second for scrapes in progress. It closes ln.
func ServeListener(ctx context.Context, s *stack.Stack, ln *tcp.Listener, app func() []Family, log *slog.Logger) {
	srv := &http.Server{
		Handler:           Handler(s, app),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	log.Info("metrics serving", "port", ln.Port())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
		log.Warn("metrics server stopped", "err", err)
	}
	<-done
}
