package script

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/httpclient"
)

func TestSetupAndTeardown(t *testing.T) {
	tg := newTarget(t)
	src := `
def setup(ctx):
    r = ctx.http.get("/json", name="setup: token")
    return {"id": r.json()["id"], "env": ctx.vars["env"], "host": ctx.host}
def teardown(ctx, data):
    ctx.http.post("/", data="bye %d" % data["id"])
def t(u):
    u.http.get("/?id=%d&env=%s" % (u.setup_data["id"], u.setup_data["env"]))
v = user(tasks=[t])
`
	h := newHarness(t, src, Options{Vars: map[string]string{"env": "ci"}})
	cfg := HookConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(0), Host: tg.URL}
	data, err := h.s.Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data.JSON); got != `{"env":"ci","host":"`+tg.URL+`","id":7}` {
		t.Errorf("setup data %s", got)
	}
	// A worker gets the JSON and decodes the same frozen value.
	wd, err := DecodeSetupData(data.JSON)
	if err != nil {
		t.Fatal(err)
	}
	v := h.s.NewVU(1, h.s.Class("v"), VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(1), Host: tg.URL, SetupData: wd})
	v.RunTask(context.Background())
	if err := h.s.Teardown(context.Background(), cfg, data); err != nil {
		t.Fatal(err)
	}
	reqs := tg.requests()
	if len(reqs) != 3 || reqs[0].Path != "/json" || reqs[1].Query != "id=7&env=ci" || reqs[2].Body != "bye 7" {
		t.Errorf("server saw %+v", reqs)
	}
	d := h.flush()
	if entry(t, d, "GET", "setup: token").Requests != 1 || entry(t, d, "POST", "/").Requests != 1 {
		t.Error("hook requests not recorded")
	}
}

func TestHookErrors(t *testing.T) {
	tg := newTarget(t)
	tests := []struct{ src, want string }{
		{"def setup(ctx):\n    ctx.http.get('/')\n    fail('no token')\n", `setup failed: test.star:3:9: fail: no token`},
		{"def setup(ctx):\n    return {'f': len}\n", `setup failed: test.star:1:1: setup must return JSON-compatible data`},
		{"def setup(ctx):\n    return {1: 2}\n", `setup must return JSON-compatible data`},
		{"def setup(ctx):\n    return 'x' * (2 << 20)\n", `setup returned 2048 KiB of data`},
	}
	for _, tc := range tests {
		h := newHarness(t, tc.src+"def t(u):\n    pass\nv = user(tasks=[t])\n", Options{})
		_, err := h.s.Setup(context.Background(), HookConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(0), Host: tg.URL})
		var he *HookError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
			continue
		}
		if k, _ := onlyException(t, h.flush()); !strings.Contains(k.Message, tc.want) {
			t.Errorf("exception %q", k.Message)
		}
	}
	for _, bad := range []struct{ src, want string }{
		{"setup = 1\n", "test.star: setup must be a function setup(ctx), got int"},
		{"def setup():\n    pass\n", "test.star:1:1: setup must be a function setup(ctx), it takes 0 parameters"},
		{"def teardown(ctx):\n    pass\n", "teardown must be a function teardown(ctx, data), it takes 1 parameters"},
	} {
		if _, err := loadSrc(t, bad.src+task+"v = user(tasks=[t])\n", Options{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v", bad.src, err)
		}
	}
}

func TestStopTest(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, "def t(u):\n    u.stop_test('all done')\n    u.http.get('/never')\nv = user(tasks=[t])\n", Options{})
	var got []string
	v := h.s.NewVU(1, h.s.Class("v"), VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: h.rec.Shard(1), Host: tg.URL,
		StopTest: func(r string) { got = append(got, r) }})
	v.RunTask(context.Background())
	if len(got) != 1 || got[0] != "all done" || !v.Stopped() || len(tg.requests()) != 0 {
		t.Errorf("stop_test: reasons %v, stopped %v, requests %d", got, v.Stopped(), len(tg.requests()))
	}
	if d := h.flush(); len(d.Exceptions) != 0 {
		t.Errorf("stop_test counted as an exception: %v", d.Exceptions)
	}
}
