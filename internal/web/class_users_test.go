package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSwarmClassUsers starts tests with exact per-class user counts
// (class_users) and checks what reached the driver, and that bad counts
// are refused on the class_users field.
func TestSwarmClassUsers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		form   url.Values
		want   map[string]int
		users  int
		errHas string
	}{
		{"pairs in one field", url.Values{"class_users": {"reader=3,writer=1"}, "spawn_rate": {"2"}}, map[string]int{"reader": 3, "writer": 1}, 4, ""},
		{"repeated field and a matching user_count", url.Values{"class_users": {"reader=0", " writer = 5 "}, "user_count": {"5"}, "spawn_rate": {"2"}}, map[string]int{"reader": 0, "writer": 5}, 5, ""},
		{"user_count disagrees", url.Values{"class_users": {"reader=3"}, "user_count": {"4"}}, nil, 0, "add up to 3, but user_count is 4"},
		{"unknown class", url.Values{"class_users": {"admin=1"}}, nil, 0, `"admin" is not a user class of the script`},
		{"not a count", url.Values{"class_users": {"reader=many"}}, nil, 0, `"reader=many" is not CLASS=COUNT`},
		{"negative", url.Values{"class_users": {"reader=-1"}}, nil, 0, "is not CLASS=COUNT"},
		{"no equals sign", url.Values{"class_users": {"reader"}}, nil, 0, "is not CLASS=COUNT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", false)
			res := f.do("POST", "/swarm", "", "", "application/x-www-form-urlencoded", tc.form.Encode())
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if tc.errHas != "" {
				var e struct{ Field, Error string }
				_ = json.Unmarshal(b, &e)
				if res.StatusCode != http.StatusBadRequest || e.Field != "class_users" || !strings.Contains(e.Error, tc.errHas) {
					t.Fatalf("%d %s, want 400 on class_users with %q", res.StatusCode, b, tc.errHas)
				}
				return
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", res.StatusCode, b)
			}
			f.drv.mu.Lock()
			p := f.drv.applied[0]
			f.drv.mu.Unlock()
			if p.Users != tc.users || len(p.ClassUsers) != len(tc.want) {
				t.Fatalf("applied %d users %v, want %d %v", p.Users, p.ClassUsers, tc.users, tc.want)
			}
			for k, v := range tc.want {
				if p.ClassUsers[k] != v {
					t.Errorf("class %s: %d users, want %d", k, p.ClassUsers[k], v)
				}
			}
			// An edit with a new user count alone shares it by weight again.
			res = f.do("POST", "/swarm", "", "", "application/x-www-form-urlencoded", "user_count=8")
			res.Body.Close()
			f.drv.mu.Lock()
			p = f.drv.applied[len(f.drv.applied)-1]
			f.drv.mu.Unlock()
			if res.StatusCode != http.StatusOK || p.Users != 8 || p.ClassUsers != nil {
				t.Errorf("edit: %d, applied %d users %v", res.StatusCode, p.Users, p.ClassUsers)
			}
		})
	}
}
