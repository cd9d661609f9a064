package demo

import "sync"

const (
	sessionShards = 32
	// maxSessions bounds the memory of a long load test that logs in over
	// and over; when a shard is full an arbitrary session in it is dropped
	// (its holder gets 401 next time, like an expired session).
	maxSessions = 1 << 16
)

type cartLine struct {
	productID int
	quantity  int
}

type session struct {
	username string
	cart     []cartLine // guarded by the shard's mutex
}

type sessionShard struct {
	mu       sync.Mutex
	sessions map[string]*session
}

// sessionStore is a sharded map token → session, safe for concurrent use.
type sessionStore struct {
	shards [sessionShards]sessionShard
}

func newSessionStore() *sessionStore {
	s := &sessionStore{}
	for i := range s.shards {
		s.shards[i].sessions = make(map[string]*session)
	}
	return s
}

func (s *sessionStore) shard(token string) *sessionShard {
	// FNV-1a; tokens are random hex so any hash does.
	h := uint32(2166136261)
	for i := 0; i < len(token); i++ {
		h ^= uint32(token[i])
		h *= 16777619
	}
	return &s.shards[h%sessionShards]
}

func (s *sessionStore) create(token, username string) {
	sh := s.shard(token)
	sh.mu.Lock()
	if len(sh.sessions) >= maxSessions/sessionShards {
		for k := range sh.sessions {
			delete(sh.sessions, k)
			break
		}
	}
	sh.sessions[token] = &session{username: username}
	sh.mu.Unlock()
}

func (s *sessionStore) delete(token string) {
	sh := s.shard(token)
	sh.mu.Lock()
	delete(sh.sessions, token)
	sh.mu.Unlock()
}

// with runs f with the session of token under the session's lock and
// reports whether the session exists. f must not block.
func (s *sessionStore) with(token string, f func(*session)) bool {
	if token == "" {
		return false
	}
	sh := s.shard(token)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sess, ok := sh.sessions[token]
	if !ok {
		return false
	}
	if f != nil {
		f(sess)
	}
	return true
}
