package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certFiles serves the TLS certificate of --tls-cert and --tls-key, read again when either file
// changes: a renewed certificate is used from the next TLS handshake on, without a restart. A
// pair that does not load (half written, or not matching) keeps the old one in use.
type certFiles struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	modified time.Time // the later modification time of the two files when cert was loaded
	onError  func(error)
}

func newCertFiles(certFile, keyFile string, onError func(error)) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, onError: onError}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// modTime is the later modification time of the two files.
func (c *certFiles) modTime() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

func (c *certFiles) reload() error {
	mod, err := c.modTime()
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modified = &pair, mod
	return nil
}

// Reload reads the pair again whether or not a file changed (SIGHUP); on failure the old pair
// stays in use.
func (c *certFiles) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reload()
}

// GetCertificate is tls.Config's: the current pair, read again first if a file changed.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mod, err := c.modTime(); err == nil && mod.After(c.modified) {
		if err := c.reload(); err != nil {
			// Not again at every handshake: only when the files change once more.
			c.modified = mod
			if c.onError != nil {
				c.onError(err)
			}
		}
	}
	return c.cert, nil
}
