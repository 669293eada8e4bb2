package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/mssql"
	"github.com/mirrord/mirrord/bulk/target"
	"github.com/mirrord/mirrord/internal/diskspace"
	"github.com/mirrord/mirrord/soapfront/auth"
)

// check runs, with serve's flags, every check a first call needs and prints one line each. It
// fails when any check fails.
func check(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	partnerPub := fs.String("partner-pub", "", "the partner's public key as registered with SuperOffice (PEM or RSA XML), to match against --partner-key")
	timeout := fs.Duration("timeout", time.Minute, "longest time the whole check may take")
	selfTest := fs.Bool("self-test", false, "also run a whole mirroring cycle through the endpoint into the target, as tenant "+selfTestTenant+", with tokens signed by a throwaway key that only this check trusts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &checker{out: out}
	c.appID(f.appID)
	c.partnerKey(f.partnerKey, *partnerPub)
	c.certificates(&f)
	c.target(ctx, &f)
	c.spool(f.spoolDir)
	c.tls(f.tlsCert, f.tlsKey)
	c.acme(ctx, &f.acme, f.tlsCert != "")
	c.hooks(&f.hooks)
	c.listen(f.listen)
	if *selfTest {
		if c.failed > 0 {
			c.report("self-test", errors.New("not run: fix the checks above first"), "")
		} else {
			c.selfTest(ctx, &f)
		}
	}
	if c.failed > 0 {
		return fmt.Errorf("%d of %d checks failed", c.failed, c.total)
	}
	fmt.Fprintf(out, "all %d checks passed\n", c.total)
	return nil
}

type checker struct {
	out           io.Writer
	total, failed int
}

func (c *checker) report(name string, err error, ok string) {
	c.total++
	if err != nil {
		c.failed++
		fmt.Fprintf(c.out, "FAIL  %-22s %v\n", name, err)
		return
	}
	fmt.Fprintf(c.out, "ok    %-22s %s\n", name, ok)
}

// appIDPattern is what SuperOffice application ids look like: letters, digits, - and _.
var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func (c *checker) appID(id string) {
	switch {
	case id == "":
		c.report("app id", errors.New("missing: set --app-id (MIRRORD_APP_ID) to the application id SuperOffice gave you"), "")
	case !appIDPattern.MatchString(id):
		c.report("app id", fmt.Errorf("%q does not look like an application id (letters, digits, - and _)", id), "")
	default:
		c.report("app id", nil, "tokens must carry aud spn:"+id)
	}
}

func (c *checker) partnerKey(path, pubPath string) {
	if path == "" {
		c.report("partner key", errors.New("missing: set --partner-key to the RSA key SuperOffice issued (RSA XML) or its PEM"), "")
		return
	}
	key, err := auth.LoadPartnerKey(path)
	if err != nil {
		c.report("partner key", err, "")
		return
	}
	c.report("partner key", nil, fmt.Sprintf("%s: RSA %d bits", path, key.N.BitLen()))
	if pubPath == "" {
		return
	}
	pub, err := auth.LoadPartnerPublicKey(pubPath)
	switch {
	case err != nil:
		c.report("partner public key", err, "")
	case !pub.Equal(&key.PublicKey):
		c.report("partner public key", fmt.Errorf("%s is not the public half of %s: SuperOffice would refuse every Authenticate answer", pubPath, path), "")
	default:
		c.report("partner public key", nil, pubPath+" matches the partner key")
	}
}

func (c *checker) certificates(f *serveFlags) {
	if f.environment == "" && len(f.certs) == 0 {
		c.report("superoffice certificate", errors.New("missing: set --environment sod|stage|production, or --superoffice-cert"), "")
		return
	}
	certs, err := f.certificates()
	if err != nil {
		c.report("superoffice certificate", err, "")
		return
	}
	var v auth.Verifier
	if err := v.SetCertificates(certs...); err != nil {
		c.report("superoffice certificate", err, "")
		return
	}
	for _, cert := range certs {
		c.report("superoffice certificate", expiry(cert), fmt.Sprintf("%s, valid until %s", cert.Subject.CommonName, cert.NotAfter.Format("2006-01-02")))
	}
}

// expiry fails a certificate that has expired or is not valid yet, and one that expires within
// 30 days, with what to do.
func expiry(cert *x509.Certificate) error {
	now := time.Now()
	switch {
	case now.After(cert.NotAfter):
		return fmt.Errorf("%s expired on %s", cert.Subject.CommonName, cert.NotAfter.Format("2006-01-02"))
	case now.Before(cert.NotBefore):
		return fmt.Errorf("%s is valid only from %s", cert.Subject.CommonName, cert.NotBefore.Format("2006-01-02"))
	case now.Add(30 * 24 * time.Hour).After(cert.NotAfter):
		return fmt.Errorf("%s expires on %s: renew it", cert.Subject.CommonName, cert.NotAfter.Format("2006-01-02"))
	}
	return nil
}

func (c *checker) target(ctx context.Context, f *serveFlags) {
	if spec, err := target.Parse(f.target.dsn); err == nil && spec.Kind == target.SQLServer && f.target.routes == "" && len(f.target.route) == 0 {
		// Without opening a Target, which could wait on a server that accepts but never answers.
		c.reportChecks(mssql.CheckDSN(ctx, spec.DSN, mssql.Options{NameTemplate: f.target.dbName, CreateOptions: f.target.mssqlCreate}))
		return
	}
	target, where, err := f.target.open(ctx)
	if err != nil {
		c.report("target", err, "")
		return
	}
	defer target.Close()
	c.report("target", nil, where)
	if checker, ok := target.(bulk.Checker); ok {
		c.reportChecks(checker.Check(ctx))
	}
}

func (c *checker) reportChecks(checks []bulk.Check) {
	for _, ch := range checks {
		var err error
		if !ch.OK {
			err = errors.New(ch.Detail)
		}
		c.report(ch.Name, err, ch.Detail)
	}
}

func (c *checker) spool(dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, ".mirrord-check-*")
	if err != nil {
		c.report("spool folder", fmt.Errorf("cannot write in %s: %w", dir, err), "")
		return
	}
	f.Close()
	os.Remove(f.Name())
	detail := dir + " is writable"
	if free, _, ok := diskspace.Space(dir); ok {
		detail += fmt.Sprintf(", %d MiB free", free>>20)
	}
	c.report("spool folder", nil, detail)
}

// hooks builds the partner hooks as serve would: commands found, SQL files read, webhook URLs
// valid. Nothing is run or sent.
func (c *checker) hooks(h *hookFlags) {
	if h.count() == 0 {
		return
	}
	d, err := h.start(metrics.NewSet(), slog.New(slog.DiscardHandler), func(context.Context, string, string, string) error { return nil })
	if err != nil {
		c.report("hooks", err, "")
		return
	}
	defer d.Close(context.Background())
	c.report("hooks", nil, fmt.Sprintf("%d commands, %d SQL files and %d webhooks ready", len(h.exec), len(h.sql), len(h.webhooks)))
}

func (c *checker) acme(ctx context.Context, a *acmeFlags, withFiles bool) {
	if !a.enabled() {
		return
	}
	if withFiles {
		c.report("acme", errACMEAndFiles, "")
		return
	}
	c.report("acme", a.check(ctx), fmt.Sprintf("%s answers; certificates of %s kept in %s", a.directory, strings.Join(a.domains, ", "), a.cache))
}

func (c *checker) tls(certFile, keyFile string) {
	if certFile == "" && keyFile == "" {
		return
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		c.report("tls certificate", fmt.Errorf("%s and %s: %w", certFile, keyFile, err), "")
		return
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			c.report("tls certificate", err, "")
			return
		}
	}
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok && leaf.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		c.report("tls certificate", errors.New("unknown key algorithm"), "")
		return
	}
	c.report("tls certificate", expiry(leaf), fmt.Sprintf("%s matches its key, valid until %s", leaf.Subject.CommonName, leaf.NotAfter.Format("2006-01-02")))
}

func (c *checker) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.report("listen address", fmt.Errorf("%s: %w (is mirrord already running?)", addr, err), "")
		return
	}
	ln.Close()
	c.report("listen address", nil, addr+" is free")
}
