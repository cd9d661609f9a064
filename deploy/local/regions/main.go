// Command regions runs a multi-region Stampede test on one Linux machine:
// each region is a network namespace whose worker reaches the master and
// the target through a delay line adding the region's round-trip latency
// (see internal/netsim). The master and the target stay in the root
// namespace, on loopback. Needs root and iproute2.
//
//	go run ./deploy/local/regions -f examples/shop.star -regions eu=10ms,us=80ms,ap=250ms -- -u 30 -r 10 -t 30s --csv out/run
//
// Flags after -- go to `stampede master` as they are. Without -target the
// built-in demo shop is started on loopback and tested.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/netsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "regions:", err)
		os.Exit(1)
	}
}

type region struct {
	name  string
	delay time.Duration
}

func parseRegions(s string) ([]region, error) {
	var out []region
	for _, part := range strings.Split(s, ",") {
		name, d, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-regions: %q is not NAME=LATENCY", part)
		}
		delay, err := time.ParseDuration(d)
		if err != nil || delay < 0 {
			return nil, fmt.Errorf("-regions: %q: latency %q is not a duration", name, d)
		}
		out = append(out, region{name, delay})
	}
	return out, nil
}

func run() error {
	bin := flag.String("bin", "", "stampede binary (default: build one from this repository)")
	file := flag.String("f", "examples/shop.star", "test script")
	regionsFlag := flag.String("regions", "eu=10ms,us=80ms,ap=250ms", "NAME=LATENCY,... (round-trip latency added to each region)")
	perRegion := flag.Int("workers-per-region", 1, "workers in each region")
	target := flag.String("target", "", "base URL of the target on 127.0.0.1 (default: start `stampede demo`)")
	flag.Parse()
	regions, err := parseRegions(*regionsFlag)
	if err != nil {
		return err
	}
	if err := netsim.Available(); err != nil {
		return err
	}
	netsim.CleanStale()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *bin == "" {
		dir, err := os.MkdirTemp("", "stampede-regions-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "stampede")
		fmt.Fprintln(os.Stderr, "building stampede ...")
		b := exec.Command("go", "build", "-o", *bin, "./cmd/stampede")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("building stampede (run from the repository root): %w", err)
		}
	}

	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range children {
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = c.Process.Kill()
			}
		}
	}()

	if *target == "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		*target = "http://127.0.0.1:" + strconv.Itoa(port)
		demo := exec.Command(*bin, "demo", "--addr", "127.0.0.1:"+strconv.Itoa(port))
		if err := demo.Start(); err != nil {
			return err
		}
		children = append(children, demo)
		if err := waitTCP(ctx, "127.0.0.1:"+strconv.Itoa(port)); err != nil {
			return fmt.Errorf("the demo target did not start: %w", err)
		}
	}
	u, err := url.Parse(*target)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		return fmt.Errorf("-target %q: give http://127.0.0.1:PORT (load only goes to this machine)", *target)
	}
	targetPort, _ := strconv.Atoi(u.Port())
	masterPort, err := freePort()
	if err != nil {
		return err
	}

	for _, r := range regions {
		reg, err := netsim.NewRegion(r.name, r.delay, masterPort, targetPort)
		if err != nil {
			return err
		}
		defer func() {
			if err := reg.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "regions: cleaning up:", err)
			}
		}()
		for i := 0; i < *perRegion; i++ {
			args := append(reg.NS.Exec(), *bin, "worker", "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(masterPort),
				"--region", r.name, "--name", fmt.Sprintf("%s-%d", r.name, i+1), "--loglevel", "warn")
			w := exec.Command(args[0], args[1:]...)
			w.Stdout, w.Stderr = os.Stderr, os.Stderr
			if err := w.Start(); err != nil {
				return err
			}
			children = append(children, w)
		}
		fmt.Fprintf(os.Stderr, "region %s: namespace %s, +%v round trip, %d worker(s)\n", r.name, reg.NS.Name, r.delay, *perRegion)
	}

	margs := []string{"master", "-f", *file, "--headless", "--host", *target,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(masterPort),
		"--expect-workers", strconv.Itoa(len(regions) * *perRegion), "--expect-workers-max-wait", "60s"}
	if *target == "" {
		// The demo shop fails 1% of checkouts on purpose.
		margs = append(margs, "--exit-code-on-error", "0")
	}
	margs = append(margs, flag.Args()...)
	m := exec.CommandContext(ctx, *bin, margs...)
	m.Stdout, m.Stderr = os.Stdout, os.Stderr
	m.Cancel = func() error { return m.Process.Signal(os.Interrupt) }
	m.WaitDelay = 60 * time.Second
	err = m.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("master exited with code %d", ee.ExitCode())
	}
	return err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string) error {
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("timed out")
}
