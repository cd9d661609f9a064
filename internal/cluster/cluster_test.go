package cluster_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// checkExact compares the master's total with the target's count.
func checkExact(t *testing.T, doc *output.Document, tg *target) {
	t.Helper()
	got, want := doc.Stats.Total.Requests, tg.total.Load()
	if got != want {
		t.Errorf("master counted %d requests, the target saw %d", got, want)
	}
	if want == 0 {
		t.Error("no request reached the target")
	}
}

func workerTotal(doc *output.Document, id string) int64 {
	for _, w := range doc.Stats.WorkerTotals {
		if w.Worker == id {
			return w.Total.Requests
		}
	}
	return -1
}

// Three regions on loopback: the total equals the target's count and
// _regions.csv holds the three regions.
func TestThreeWorkersThreeRegions(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "-u", "9", "-r", "50", "-t", "4s", "--expect-workers", "3")...)
	var ws []*proc
	for _, r := range []string{"eu", "us", "ap"} {
		ws = append(ws, start(t, "worker-"+r, nil, nil, workerArgs(port, r, "w-"+r)...))
	}
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\n%s", code, m.stderr)
	}
	for _, w := range ws {
		if code := w.wait(t, 15*time.Second); code != 0 {
			t.Errorf("%s exit code %d (want 0 after the master's quit)", w.name, code)
		}
	}
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if doc.Run.WorkerCount != 3 || strings.Join(doc.Run.Regions, ",") != "ap,eu,us" {
		t.Errorf("run info: %d workers, regions %v", doc.Run.WorkerCount, doc.Run.Regions)
	}
	if len(doc.Workers) != 3 || len(doc.Lost) != 0 {
		t.Errorf("workers %+v lost %+v", doc.Workers, doc.Lost)
	}
	var sum int64
	for _, w := range doc.Stats.WorkerTotals {
		sum += w.Total.Requests
		if w.Total.Requests == 0 {
			t.Errorf("worker %s made no request: users were not spread", w.Worker)
		}
	}
	if sum != doc.Stats.Total.Requests {
		t.Errorf("per-worker totals add up to %d, total %d", sum, doc.Stats.Total.Requests)
	}
	f, err := os.Open(out + "_regions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]int64{}
	for _, r := range rows[1:] {
		if r[2] == "Aggregated" {
			n, _ := strconv.ParseInt(r[3], 10, 64)
			regions[r[0]] = n
		}
	}
	var rsum int64
	for _, n := range regions {
		rsum += n
	}
	if len(regions) != 3 || rsum != tg.total.Load() {
		t.Errorf("_regions.csv: %v (sum %d, target %d)", regions, rsum, tg.total.Load())
	}
	if !strings.Contains(m.stdout.String(), "Per-region statistics") {
		t.Errorf("summary without the per-region table:\n%s", m.stdout)
	}
	// The headless master's log (a CI log) shows the workers' lines,
	// tagged with worker and region.
	for _, r := range []string{"eu", "us", "ap"} {
		if want := `msg="test prepared" worker=w-` + r + ` region=` + r + ` test=1 `; !strings.Contains(m.stderr.String(), want) {
			t.Errorf("the master's log lacks %s", want)
		}
	}
}

// A worker with the wrong token is refused and exits non-zero; the master
// logs the refusal without the token; the right token gets in.
func TestClusterToken(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	const secret = "correct-horse-battery-staple-42"
	const wrong = "wrong-token-value-1234567"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := start(t, "master", nil, []string{"STAMPEDE_CLUSTER_TOKEN=" + secret},
		masterArgs(script, port, tg, out, "-u", "2", "-r", "10", "-t", "2s", "--expect-workers", "1")...)

	bad := start(t, "bad-worker", nil, []string{"STAMPEDE_CLUSTER_TOKEN=" + wrong}, workerArgs(port, "eu", "w-bad")...)
	if code := bad.wait(t, 20*time.Second); code == 0 {
		t.Fatal("a worker with a wrong token exited 0")
	}
	if !strings.Contains(bad.stderr.String(), "cluster token") {
		t.Errorf("the refused worker does not say why:\n%s", bad.stderr)
	}
	none := start(t, "no-token-worker", nil, []string{"STAMPEDE_CLUSTER_TOKEN="}, workerArgs(port, "eu", "w-none")...)
	if code := none.wait(t, 20*time.Second); code == 0 {
		t.Fatal("a worker without a token exited 0")
	}
	good := start(t, "good-worker", nil, nil, workerArgs(port, "eu", "w-good", "--cluster-token-file", tokenFile)...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	good.wait(t, 15*time.Second)
	checkExact(t, readDoc(t, out+".json"), tg)
	logs := m.stderr.String()
	if !strings.Contains(logs, `msg="worker port: wrong cluster tokens" client=127.0.0.1 failed=`) {
		t.Errorf("the master did not log the refusal:\n%s", logs)
	}
	if strings.Contains(logs, wrong) || strings.Contains(logs, secret) {
		t.Error("the master's log contains a token")
	}
}

// A master on a non-loopback address refuses to start without a token.
func TestNonLoopbackNeedsToken(t *testing.T) {
	t.Parallel()
	script := writeScript(t, testScript)
	m := start(t, "master", nil, []string{"STAMPEDE_CLUSTER_TOKEN="}, "master", "-f", script, "--headless",
		"--host", "http://127.0.0.1:1", "--master-bind-host", "0.0.0.0", "--master-bind-port", strconv.Itoa(freePort(t)))
	if code := m.wait(t, 20*time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	msg := m.stderr.String()
	for _, want := range []string{"not a loopback address", "--cluster-token", "--insecure"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal does not mention %q:\n%s", want, msg)
		}
	}
}

// The master gives up after --expect-workers-max-wait.
func TestExpectWorkersMaxWait(t *testing.T) {
	t.Parallel()
	script := writeScript(t, testScript)
	m := start(t, "master", nil, nil, "master", "-f", script, "--headless", "--host", "http://127.0.0.1:1",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(freePort(t)),
		"--expect-workers", "2", "--expect-workers-max-wait", "1s")
	// 4, not 1: 1 means a threshold failed
	if code := m.wait(t, 20*time.Second); code != 4 {
		t.Fatalf("exit code %d, want 4\n%s", code, m.stderr)
	}
	if !strings.Contains(m.stderr.String(), "0 of 2 expected workers") {
		t.Errorf("message: %s", m.stderr)
	}
}

// A worker's connection is cut for longer than the missing timeout and
// restored: its users move and come back, the reports it could not
// deliver are sent again, and nothing is lost or counted twice.
func TestCutAndRestoreConnection(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	proxy := newTCPProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "-u", "6", "-r", "50", "-t", "16s", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	b := start(t, "worker-b", nil, nil, workerArgs(proxy.Port(), "us", "w-b")...)
	waitFor(t, 20*time.Second, "load from both workers", func() bool {
		n0, _ := tg.workerCount(0, time.Time{}, time.Now())
		n1, _ := tg.workerCount(1, time.Time{}, time.Now())
		return n0 > 20 && n1 > 20
	})
	time.Sleep(time.Second)
	proxy.Cut()
	time.Sleep(5 * time.Second)
	proxy.Restore()
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	a.wait(t, 15*time.Second)
	b.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if len(doc.Lost) != 1 || doc.Lost[0].ID != "w-b" {
		t.Errorf("lost workers: %+v (want w-b, missing during the cut)", doc.Lost)
	}
	if !strings.Contains(m.stderr.String(), "worker=w-b region=us host") || !strings.Contains(m.stderr.String(), "rejoined=true") {
		t.Errorf("w-b did not rejoin:\n%s", lastLines(m.stderr.String(), 40))
	}
	if !strings.Contains(m.stderr.String(), `why="worker missing"`) {
		t.Errorf("w-b's users were not placed elsewhere while it was missing")
	}
	if !strings.Contains(b.stderr.String(), "reconnecting") {
		t.Errorf("w-b did not notice the cut")
	}
}

// A worker killed with SIGKILL: everything it reported is kept, the
// shortfall is at most its last report interval, and the summary names it.
func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "-u", "6", "-r", "50", "-t", "9s", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	waitFor(t, 20*time.Second, "w-a to connect", func() bool { return strings.Contains(m.stderr.String(), "worker=w-a") })
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	waitFor(t, 20*time.Second, "load from w-b", func() bool {
		n, _ := tg.workerCount(1, time.Time{}, time.Now())
		return n > 30
	})
	time.Sleep(1500 * time.Millisecond)
	killedAt := time.Now()
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait(t, 10*time.Second)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	a.wait(t, 15*time.Second)
	doc := readDoc(t, out+".json")
	seenA, _ := tg.workerCount(0, time.Time{}, time.Now())
	if got := workerTotal(doc, "w-a"); got != int64(seenA) {
		t.Errorf("w-a: master %d, target %d (must be exact)", got, seenA)
	}
	// w-b reports every second: at most its last interval (plus the time
	// for the report to travel) is missing.
	seenB, lastInterval := tg.workerCount(1, killedAt.Add(-1500*time.Millisecond), killedAt)
	gotB := workerTotal(doc, "w-b")
	short := int64(seenB) - gotB
	if short < 0 || short > int64(lastInterval) {
		t.Errorf("w-b: master %d, target %d: shortfall %d, its last interval had %d", gotB, seenB, short, lastInterval)
	}
	if doc.Stats.Total.Requests != gotB+int64(seenA) {
		t.Errorf("total %d != w-a %d + w-b %d", doc.Stats.Total.Requests, seenA, gotB)
	}
	if len(doc.Lost) != 1 || doc.Lost[0].ID != "w-b" || doc.Lost[0].LostAt.Before(killedAt) {
		t.Errorf("lost: %+v", doc.Lost)
	}
	if !strings.Contains(m.stdout.String(), "Lost workers") || !strings.Contains(m.stdout.String(), "w-b (region us") {
		t.Errorf("the summary does not name the lost worker:\n%s", m.stdout)
	}
	t.Logf("w-b: target %d, master %d, shortfall %d (bound %d)", seenB, gotB, short, lastInterval)
}

// Ctrl-C on the master: workers stop and flush their last delta; the
// count is exact and every output is written.
func TestMasterInterrupted(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "-u", "6", "-r", "50", "-t", "60s", "--expect-workers", "2")...)
	a := start(t, "worker-a", nil, nil, workerArgs(port, "eu", "w-a")...)
	b := start(t, "worker-b", nil, nil, workerArgs(port, "us", "w-b")...)
	waitFor(t, 20*time.Second, "load", func() bool { return tg.total.Load() > 100 })
	time.Sleep(1300 * time.Millisecond) // mid-interval
	m.signal(syscall.SIGINT)
	if code := m.wait(t, 40*time.Second); code != 3 {
		t.Fatalf("master exit %d, want 3 (interrupted)", code)
	}
	for _, w := range []*proc{a, b} {
		if code := w.wait(t, 15*time.Second); code != 0 {
			t.Errorf("%s exit %d", w.name, code)
		}
	}
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if !doc.Run.Interrupted {
		t.Error("run not marked interrupted")
	}
}

// TLS on the worker port, the worker trusting the master's CA.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	out := filepath.Join(dir, "run")
	m := start(t, "master", nil, []string{"STAMPEDE_CLUSTER_TOKEN=tls-token"}, masterArgs(script, port, tg, out, "-u", "2", "-r", "10", "-t", "2s",
		"--expect-workers", "1", "--tls-cert", certFile, "--tls-key", keyFile)...)
	w := start(t, "worker", nil, []string{"STAMPEDE_CLUSTER_TOKEN=tls-token"}, workerArgs(port, "eu", "w-tls", "--tls-ca", certFile, "--tls-server-name", "stampede-master")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	w.wait(t, 15*time.Second)
	checkExact(t, readDoc(t, out+".json"), tg)
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stampede-master"},
		DNSNames: []string{"stampede-master"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// The master dies (SIGKILL): the worker stops all load after 10 s without
// a word from it and keeps dialling; a new master on the same port gets
// it back and runs a test with an exact count.
func TestMasterRestart(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	script := writeScript(t, testScript)
	port := freePort(t)
	dir := t.TempDir()
	m1 := start(t, "master-1", nil, nil, masterArgs(script, port, tg, filepath.Join(dir, "one"), "-u", "3", "-r", "50", "-t", "60s")...)
	w := start(t, "worker", nil, nil, workerArgs(port, "eu", "w-1")...)
	waitFor(t, 20*time.Second, "load", func() bool { return tg.total.Load() > 30 })
	killedAt := time.Now()
	_ = syscall.Kill(-m1.cmd.Process.Pid, syscall.SIGKILL)
	m1.wait(t, 10*time.Second)
	waitFor(t, 20*time.Second, "the worker to stop its load", func() bool {
		return strings.Contains(w.stderr.String(), "stopping all load")
	})
	if since := time.Since(killedAt); since < 9*time.Second {
		t.Errorf("the worker stopped its load %s after the master died, want ~10s", since)
	}
	time.Sleep(500 * time.Millisecond) // requests in flight land
	idle := tg.total.Load()
	time.Sleep(1500 * time.Millisecond)
	if n := tg.total.Load(); n != idle {
		t.Fatalf("load went on without a master: %d -> %d", idle, n)
	}
	out := filepath.Join(dir, "two")
	m2 := start(t, "master-2", nil, nil, masterArgs(script, port, tg, out, "-u", "3", "-r", "50", "-t", "3s")...)
	if code := m2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master-2 exit %d", code)
	}
	if code := w.wait(t, 15*time.Second); code != 0 {
		t.Errorf("worker exit %d", code)
	}
	doc := readDoc(t, out+".json")
	if got, want := doc.Stats.Total.Requests, tg.total.Load()-idle; got != want || want == 0 {
		t.Errorf("master-2 counted %d requests, the target saw %d during its test", got, want)
	}
}
