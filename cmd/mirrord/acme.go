package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// acmeFlags get and renew the service listener's certificate through ACME (Let's Encrypt by
// default), for SuperOffice's Task, which refuses self-signed certificates.
type acmeFlags struct {
	domains   listFlag
	email     string
	cache     string
	directory string
	caFile    string
}

func (a *acmeFlags) register(fs *flag.FlagSet) {
	fs.Var(&a.domains, "acme-domain", "get and renew the HTTPS certificate of this domain through ACME (TLS-ALPN-01: --listen must be what the domain's port 443 reaches); repeatable")
	fs.StringVar(&a.email, "acme-email", "", "contact address given to the ACME certificate authority (expiry warnings)")
	fs.StringVar(&a.cache, "acme-cache", "acme", "folder that keeps the ACME account key and certificates between restarts (secret: mode 0700)")
	fs.StringVar(&a.directory, "acme-directory", acme.LetsEncryptURL, "the ACME certificate authority's directory URL")
	fs.StringVar(&a.caFile, "acme-ca", "", "PEM certificates to trust for --acme-directory's HTTPS, for a private ACME authority (default: the system's)")
}

func (a *acmeFlags) enabled() bool { return len(a.domains) > 0 }

// manager returns the autocert manager of the flags. Certificates are requested at the first
// TLS handshake that names a domain, and renewed in the background 30 days before they expire.
func (a *acmeFlags) manager() (*autocert.Manager, error) {
	for _, d := range a.domains {
		if d == "" || strings.ContainsAny(d, "/: ") {
			return nil, fmt.Errorf("--acme-domain %q is not a domain name", d)
		}
	}
	if err := os.MkdirAll(a.cache, 0o700); err != nil {
		return nil, fmt.Errorf("--acme-cache: %w", err)
	}
	client := &acme.Client{DirectoryURL: a.directory, UserAgent: "mirrord/" + buildVersion()}
	if a.caFile != "" {
		pem, err := os.ReadFile(a.caFile)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca %s holds no PEM certificate", a.caFile)
		}
		client.HTTPClient = &http.Client{
			Timeout:   time.Minute,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		}
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(a.domains...),
		Cache:      autocert.DirCache(a.cache),
		Email:      a.email,
		Client:     client,
	}, nil
}

// acmeTLSConfig is the service listener's TLS configuration under ACME: the manager's, which
// answers TLS-ALPN-01 challenges on the same port, at TLS 1.2 or later.
func acmeTLSConfig(m *autocert.Manager) *tls.Config {
	c := m.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	return c
}

// checkACME reports whether the ACME settings can work before the first handshake needs them:
// the directory answers.
func (a *acmeFlags) check(ctx context.Context) error {
	m, err := a.manager()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := m.Client.Discover(ctx); err != nil {
		return fmt.Errorf("the ACME directory %s does not answer: %w", a.directory, err)
	}
	return nil
}

var errACMEAndFiles = errors.New("--acme-domain and --tls-cert exclude each other: pick ACME or certificate files")
