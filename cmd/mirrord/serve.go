package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/hooks"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
	statuspage "github.com/mirrord/mirrord/soapfront/status"
)

type serveFlags struct {
	target          targetFlags
	listen          string
	path            string
	appID           string
	partnerKey      string
	environment     string
	certs           listFlag
	tlsCert, tlsKey string
	maxBody         sizeFlag
	maxApplies      int
	maxPerTenant    int
	spoolDir        string
	maxInflight     sizeFlag
	chunkRows       int
	wait            time.Duration
	skew            time.Duration
	pause           listFlag
	pauseFile       string
	logLevel        string
	debugListen     string
	metricsListen   string
	shutdownTimeout time.Duration
	readTimeout     time.Duration
	bodyIdle        time.Duration
	captureDir      string
	captureMax      sizeFlag
	acme            acmeFlags
	statusOnListen  bool
	statusBehind    time.Duration
	hooks           hookFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.target.register(fs)
	f.maxBody = soapfront.DefaultMaxBody
	f.maxInflight = engine.DefaultMaxInflightBytes
	fs.StringVar(&f.listen, "listen", ":8080", "address to serve HTTP on")
	fs.StringVar(&f.path, "path", soapfront.DefaultPath, "service path of the mirroring endpoint (the WSDL is at <path>?wsdl)")
	fs.StringVar(&f.appID, "app-id", "", "the partner application's id; tokens must carry aud spn:<app-id> (required)")
	fs.StringVar(&f.partnerKey, "partner-key", "", "the partner's private key: SuperOffice's RSA XML or PEM (required)")
	fs.StringVar(&f.environment, "environment", "", "SuperOffice environment whose built-in token-signing certificate to trust: sod, stage or production")
	fs.Var(&f.certs, "superoffice-cert", "a further SuperOffice certificate (.crt, PEM or DER) that signs tokens; repeat for rotation")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	f.acme.register(fs)
	fs.Var(&f.maxBody, "max-body", "largest request body accepted, before and after decompression (bytes, or with KiB, MiB, GiB)")
	fs.IntVar(&f.maxApplies, "max-applies", engine.DefaultMaxApplies, "table applies running at once across all tenants: the cap on database connections in use")
	fs.IntVar(&f.maxPerTenant, "max-applies-per-tenant", engine.DefaultMaxAppliesPerTenant, "table applies of one tenant at once (PostgreSQL opens one more connection per tenant for catalog reads)")
	fs.StringVar(&f.spoolDir, "spool-dir", "", "folder for the temporary files of rows whose table waits for a connection while another table of the same call is written (default: the system's temporary folder)")
	fs.Var(&f.maxInflight, "max-inflight", "decoded row bytes that may wait between decoders and loaders")
	fs.IntVar(&f.chunkRows, "chunk-rows", engine.DefaultChunkRows, "rows a decoder hands to a loader at a time")
	fs.DurationVar(&f.wait, "wait", engine.DefaultWait, "longest wait for a busy table, an apply slot or in-flight budget before a call fails")
	fs.DurationVar(&f.skew, "token-skew", auth.DefaultSkew, "clock skew tolerated on a token's nbf and exp")
	fs.Var(&f.pause, "pause", "a tenant to ask not to replicate now (Authenticate answers doNotReplicate); repeatable; * for all")
	fs.StringVar(&f.pauseFile, "pause-file", "", "a file of tenants to ask not to replicate now, one context id a line (* for all, # comments), read again when it changes")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve /metrics and the /status page on this address instead of --listen (both name tenants and tables)")
	fs.BoolVar(&f.statusOnListen, "status-on-listen", false, "also serve the /status page on --listen when --metrics-listen is not set (it names tenants and shows database errors)")
	fs.DurationVar(&f.statusBehind, "status-behind", statuspage.DefaultBehind, "the /status page calls a tenant behind after this long without a completed cycle")
	fs.StringVar(&f.debugListen, "debug-listen", "", "address of an opt-in pprof listener (off when empty; keep it on localhost)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", time.Minute, "how long SIGINT/SIGTERM waits for calls in flight before rolling them back")
	fs.DurationVar(&f.readTimeout, "read-timeout", soapfront.DefaultReadTimeout, "longest time a whole request body may take to arrive")
	fs.DurationVar(&f.bodyIdle, "body-idle-timeout", soapfront.DefaultBodyProgress, "longest time a request body may send nothing; the call then ends and rolls back")
	fs.StringVar(&f.captureDir, "capture-dir", "", "keep every request the wire refuses here (token redacted), with its fault; the newest 100")
	f.captureMax = soapfront.DefaultCaptureMax
	fs.Var(&f.captureMax, "capture-max", "how much of a refused request a capture keeps")
	f.hooks.register(fs)
}

// check reports every missing required setting at once, so an operator fixes them in one go.
func (f *serveFlags) check() error {
	var missing []string
	if f.appID == "" {
		missing = append(missing, "--app-id (MIRRORD_APP_ID)")
	}
	if f.partnerKey == "" {
		missing = append(missing, "--partner-key (MIRRORD_PARTNER_KEY)")
	}
	if len(f.certs) == 0 && f.environment == "" {
		missing = append(missing, "--environment (MIRRORD_ENVIRONMENT) or --superoffice-cert (MIRRORD_SUPEROFFICE_CERT)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot serve without %s", strings.Join(missing, ", "))
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.acme.enabled() && f.tlsCert != "" {
		return errACMEAndFiles
	}
	return nil
}

// certificates are the built-in certificate of --environment and those of --superoffice-cert.
func (f *serveFlags) certificates() ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	if f.environment != "" {
		env, err := auth.EnvironmentCertificates(f.environment)
		if err != nil {
			return nil, fmt.Errorf("--environment: %w", err)
		}
		certs = append(certs, env...)
	}
	for _, path := range f.certs {
		more, err := auth.ReadCertificates(path)
		if err != nil {
			return nil, err
		}
		certs = append(certs, more...)
	}
	return certs, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	printSettings := fs.Bool("print-config", false, "print the effective settings, secrets masked, as a --config file, and exit")
	from, err := parseFlagsFrom(fs, args)
	if err != nil {
		return err
	}
	if *printSettings {
		return printConfig(os.Stdout, fs, from)
	}
	if err := f.check(); err != nil {
		return err
	}
	if f.captureDir != "" {
		if err := os.MkdirAll(f.captureDir, 0o750); err != nil {
			return fmt.Errorf("--capture-dir: %w", err)
		}
	}
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	verifier := &auth.Verifier{AppID: f.appID, Skew: f.skew}
	certs, err := f.certificates()
	if err != nil {
		return err
	}
	if err := verifier.SetCertificates(certs...); err != nil {
		return err
	}
	key, err := auth.LoadPartnerKey(f.partnerKey)
	if err != nil {
		return err
	}
	if f.maxPerTenant < 1 || f.maxApplies < 1 {
		return errors.New("--max-applies and --max-applies-per-tenant must be at least 1")
	}
	f.target.poolPerTenant = int32(f.maxPerTenant + 1)
	target, where, err := f.target.open(ctx)
	if err != nil {
		return err
	}
	set := metrics.NewSet()
	registerSpoolMetrics(set, f.spoolDir)
	// The SQL hooks run through the engine, which is built after them: it calls the hooks.
	var eng *engine.Engine
	runSQL := func(ctx context.Context, tenant, table, text string) error {
		return eng.RunSQL(ctx, tenant, table, text)
	}
	hk, err := f.hooks.start(set, log, runSQL)
	if err != nil {
		target.Close()
		return err
	}
	eng = engine.New(target, engine.Options{
		MaxApplies: f.maxApplies, MaxAppliesPerTenant: f.maxPerTenant, SpoolDir: f.spoolDir,
		MaxInflightBytes: int64(f.maxInflight), ChunkRows: f.chunkRows,
		Wait: f.wait, Logger: log, Hooks: hk,
	})
	defer eng.Close()
	// Before the engine closes: the queued SQL hooks still run through it.
	defer f.hooks.stop(hk, log)

	paused, err := newPauseList(f.pause, f.pauseFile, func(err error) {
		log.Error("the changed pause file does not read; the tenants it paused before stay paused", "err", err)
	})
	if err != nil {
		return err
	}
	board := statuspage.New(statuspage.Options{Behind: f.statusBehind, Version: buildVersion()})
	soap, err := soapfront.New(eng, soapfront.Config{
		Path: f.path, AppID: f.appID, Verifier: verifier, PartnerKey: key,
		Paused:  paused.Paused,
		MaxBody: int64(f.maxBody), Logger: log, Build: buildName(), Metrics: set,
		ReadTimeout: f.readTimeout, BodyProgress: f.bodyIdle,
		CaptureDir: f.captureDir, CaptureMax: int64(f.captureMax), Observer: soapfront.Observers{board, hk},
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(soap.Path(), soap)
	mux.HandleFunc("/healthz", soap.Health)
	mux.HandleFunc("/readyz", soap.Ready)
	metricsHandler := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		set.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	}
	if f.metricsListen == "" {
		mux.HandleFunc("/metrics", metricsHandler)
		if f.statusOnListen {
			mux.Handle("/status", board)
		}
	} else {
		mmux := http.NewServeMux()
		mmux.HandleFunc("/metrics", metricsHandler)
		mmux.Handle("/status", board)
		mln, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		defer msrv.Close()
		go func() {
			log.Info("metrics listening", "addr", mln.Addr().String(), "paths", "/metrics /status")
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener", "err", err)
			}
		}()
	}
	srv := &http.Server{
		Addr:              f.listen,
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	if f.debugListen != "" {
		go serveDebug(f.debugListen, log)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	var tlsFiles *certFiles
	if f.tlsCert != "" {
		tlsFiles, err = newCertFiles(f.tlsCert, f.tlsKey, func(err error) {
			log.Error("the changed TLS certificate does not load; the previous one stays in use", "err", err)
		})
		if err != nil {
			return err
		}
		srv.TLSConfig = &tls.Config{GetCertificate: tlsFiles.GetCertificate, MinVersion: tls.VersionTLS12}
	}
	if f.acme.enabled() {
		m, err := f.acme.manager()
		if err != nil {
			return err
		}
		srv.TLSConfig = acmeTLSConfig(m)
	}
	stopReload := reloadOnHangup(log, func() []any {
		attrs := f.reload(log, verifier, paused, tlsFiles)
		return append(attrs, f.reloadSettings(args, log, hk, set, runSQL)...)
	})
	defer stopReload()
	useTLS := srv.TLSConfig != nil
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("serving", "version", buildVersion(), "commit", buildCommit(), "environment", f.environment, "listen", ln.Addr().String(), "path", soap.Path(), "target", where,
		"tls", useTLS, "acme_domains", strings.Join(f.acme.domains, ","), "max_applies", f.maxApplies, "max_body", formatSize(int64(f.maxBody)))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// A second signal now ends the process at once, as an operator who sends it expects.
	stop()
	log.Info("shutting down: draining calls in flight (a second signal stops at once)", "timeout", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	drainErr := soap.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if drainErr != nil {
		return fmt.Errorf("stopped with calls rolled back: %w", drainErr)
	}
	log.Info("stopped")
	return nil
}

// reload reads again, on SIGHUP, what serve reads from files: SuperOffice's certificates, the
// pause file and the TLS pair (reloadSettings does the routes and the hooks). What fails to load keeps its old value and is logged; the rest
// takes effect for the next call. It returns what the log line of the reload says.
func (f *serveFlags) reload(log *slog.Logger, verifier *auth.Verifier, paused *pauseList, tlsFiles *certFiles) []any {
	var attrs []any
	if certs, err := f.certificates(); err != nil {
		log.Error("reload: SuperOffice's certificates do not load; the previous ones stay trusted", "err", err)
	} else if err := verifier.SetCertificates(certs...); err != nil {
		log.Error("reload: SuperOffice's certificates are refused; the previous ones stay trusted", "err", err)
	} else {
		attrs = append(attrs, "superoffice_certs", len(certs))
	}
	if f.pauseFile != "" {
		if err := paused.Reload(); err == nil {
			n, all := paused.Count()
			attrs = append(attrs, "paused", n, "paused_all", all)
		}
	}
	if tlsFiles != nil {
		if err := tlsFiles.Reload(); err != nil {
			log.Error("reload: the TLS certificate does not load; the previous one stays in use", "err", err)
		} else {
			attrs = append(attrs, "tls", f.tlsCert)
		}
	}
	return attrs
}

// reloadSettings reads serve's settings again (the command line, MIRRORD_*, and the --config
// file as it is now) and takes from them, on SIGHUP, the routes and the hooks; other settings
// need a restart. It returns what the log line of the reload says.
func (f *serveFlags) reloadSettings(args []string, log *slog.Logger, hk *hooks.Dispatcher, set *metrics.Set, runSQL hooks.RunSQL) []any {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var now serveFlags
	now.register(fs)
	fs.Bool("print-config", false, "")
	if _, err := parseFlagsFrom(fs, args); err != nil {
		log.Error("reload: the settings do not read; the routes and hooks in use stay", "err", err)
		return nil
	}
	var attrs []any
	if f.target.router != nil {
		f.target.routes, f.target.route = now.target.routes, now.target.route
		if n, err := f.target.reloadRoutes(); err != nil {
			log.Error("reload: the routes do not read; the routes in use stay", "err", err)
		} else {
			attrs = append(attrs, "routes", n)
		}
	}
	if err := hk.Reload(now.hooks.config(set, log, runSQL)); err != nil {
		log.Error("reload: the hooks do not build; the hooks in use stay", "err", err)
	} else {
		attrs = append(attrs, "hooks", now.hooks.count())
	}
	return attrs
}

// serveDebug serves pprof on its own listener, so that profiling is never exposed on the
// service address.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof listening", "addr", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("pprof listener", "err", err)
	}
}
