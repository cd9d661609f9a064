package cluster

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/guard"
)

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Wrong tokens from one address earn a wait during which its connections
// are refused unchecked (ResourceExhausted, which a worker retries), even
// with the right token; the refusals are logged once per address and
// interval with their count, never the token.
func TestWrongTokensRateLimited(t *testing.T) {
	const secret, wrong = "the-right-cluster-token", "guessed-token-value"
	var logs syncLog
	m := NewMaster(MasterConfig{Script: loadScript(t, "def t(u):\n    pass\nv = user(tasks=[t])\n"), Token: secret, Version: "v1",
		Log:        slog.New(slog.NewTextHandler(&logs, nil)),
		TokenLimit: guard.Config{Free: 3, Base: time.Hour, Max: time.Hour, LogEvery: 50 * time.Millisecond}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	defer m.Close("test over")
	cc := dialMaster(t, ln.Addr().String())
	code := func(token string) codes.Code {
		t.Helper()
		f := connectFake(t, cc, token, &pb.Hello{WorkerId: "w-1", Incarnation: "i", Region: "eu", Version: "v1"})
		defer f.cancel()
		select {
		case err := <-f.err:
			return status.Code(err)
		case m, open := <-f.msgs:
			if !open {
				return status.Code(<-f.err)
			}
			if m.GetReject() != nil {
				return codes.PermissionDenied
			}
			return codes.OK
		case <-time.After(10 * time.Second):
			t.Fatal("no answer from the master")
		}
		return codes.Unknown
	}
	if c := code(secret); c != codes.OK {
		t.Fatalf("the right token: %v", c)
	}
	for i := range 4 {
		if c := code(wrong); c != codes.Unauthenticated {
			t.Fatalf("wrong token %d: %v, want Unauthenticated", i+1, c)
		}
	}
	for range 3 {
		if c := code(secret); c != codes.ResourceExhausted {
			t.Fatalf("the right token during the wait: %v, want ResourceExhausted", c)
		}
	}
	waitUntil(t, 5*time.Second, "the aggregated log line", func() bool {
		return strings.Contains(logs.String(), `msg="worker port: wrong cluster tokens" client=127.0.0.1 failed=4 refused_while_waiting=3`)
	})
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), wrong) {
		t.Errorf("a token is in the log:\n%s", logs.String())
	}
}
