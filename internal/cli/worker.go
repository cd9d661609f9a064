package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stampede-load/stampede/internal/cluster"
)

type workerOptions struct {
	masterHost    string
	masterPort    int
	region        string
	name          string
	tls           bool
	tlsCA         string
	tlsServerName string
	tok           tokenOptions
}

func (app *App) workerCmd() *cobra.Command {
	o := &workerOptions{}
	prof := &profileOptions{} // hidden --cpuprofile/--memprofile (bench/scale)
	cmd := &cobra.Command{
		Use:   "worker --master-host HOST [flags]",
		Short: "Run users for a master (no script needed: the master sends it)",
		Long: `Run a worker: dial the master, receive the script and this worker's share
of the users, run them, and send statistics every second.

The worker needs no script file. When the master cannot be reached the
worker keeps trying with backoff; after 10 s without a word from the master
it stops all load until the master is back. It exits when the master says
the run is over, on Ctrl-C / SIGTERM (after sending its last statistics),
or with exit code 2 when the master refuses it (wrong cluster token, another
version, a duplicate --name).

The region (--region, STAMPEDE_REGION) labels this worker's statistics: the
master reports every region separately. See docs/distributed.md.`,
		Example: `  stampede worker --master-host 127.0.0.1 --region eu
  STAMPEDE_CLUSTER_TOKEN=... stampede worker --master-host master.example.com --tls --region westeurope`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer gcFloor()()
			return prof.around(func() error { return app.worker(cmd.Context(), o) })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.masterHost, "master-host", "127.0.0.1", "host name or address of the master")
	fs.IntVar(&o.masterPort, "master-port", 5557, "worker port of the master")
	intIn(fs, "master-port", &o.masterPort, 1, maxPort)
	fs.StringVar(&o.region, "region", "", "region label of this worker's statistics (default \"local\")")
	fs.StringVar(&o.name, "name", "", "worker id, unique in the cluster (default: HOSTNAME-PID)")
	fs.BoolVar(&o.tls, "tls", false, "connect to the master over TLS, verifying it against the system's roots")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM file of the CA that signed the master's certificate (implies --tls)")
	fs.StringVar(&o.tlsServerName, "tls-server-name", "", "name to verify the master's certificate against (default: --master-host)")
	o.tok.register(fs)
	prof.register(fs)
	return cmd
}

func (o *workerOptions) tlsConfig() (*tls.Config, error) {
	if !o.tls && o.tlsCA == "" {
		if o.tlsServerName != "" {
			return nil, configErr("--tls-server-name needs --tls or --tls-ca")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.tlsServerName}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, configErr("--tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErr("--tls-ca: %s holds no PEM certificate", o.tlsCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (app *App) worker(ctx context.Context, o *workerOptions) error {
	if o.masterHost == "" {
		return configErr("--master-host: required")
	}
	token, err := o.tok.read()
	if err != nil {
		return err
	}
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return err
	}
	region := o.region
	if region == "" {
		region = "local"
	}
	name := o.name
	if name == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "worker"
		}
		name = host + "-" + strconv.Itoa(os.Getpid())
	}
	if err := cluster.CheckWorkerID(name); err != nil {
		return configErr("--name: %v", err)
	}
	if err := cluster.CheckRegion(region); err != nil {
		return configErr("--region: %v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := cluster.NewWorker(cluster.WorkerConfig{
		MasterAddr: net.JoinHostPort(o.masterHost, strconv.Itoa(o.masterPort)),
		ID:         name, Region: region, Token: token, TLS: tlsCfg, Version: Version, Log: app.Log, Logs: app.logs,
		GoClasses: app.goClasses,
	})
	if tokenInClear(token, tlsCfg, o.masterHost) {
		// The master warns too, but only the worker knows it is about to
		// send the token over a network in clear text.
		app.Log.Warn("the cluster token travels in clear text to a master that is not on this machine; use --tls (or --tls-ca) and TLS on the master", "master", o.masterHost)
	}
	app.Log.Info("worker starting", "id", w.ID(), "region", region, "master", net.JoinHostPort(o.masterHost, strconv.Itoa(o.masterPort)), "tls", tlsCfg != nil)
	err = w.Run(ctx)
	var rej *cluster.RejectedError
	if errors.As(err, &rej) {
		return configErr("%v", err)
	}
	return err
}
