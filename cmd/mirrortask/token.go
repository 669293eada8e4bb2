package main

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/mirrord/mirrord/soapfront/auth"
)

// loadSigner reads the certificate and private key that sign tokens in SuperOffice's place.
func loadSigner(certPath, keyPath string) (*rsa.PrivateKey, *x509.Certificate, error) {
	certs, err := auth.ReadCertificates(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--superoffice-cert: %w", err)
	}
	key, err := auth.LoadPartnerKey(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--superoffice-key: %w", err)
	}
	return key, certs[0], nil
}

// cmdToken prints one SignedToken, valid for five minutes, for trying mirrord with curl or any
// SOAP client.
func cmdToken(args []string, out io.Writer) error {
	fs := newFlags("token")
	appID := fs.String("app-id", "", "the partner application's id (the token's aud is spn:<app-id>)")
	tenantName := fs.String("tenant", "Cust12020", "the tenant's context identifier")
	certPath := fs.String("superoffice-cert", "", "the certificate that signs tokens (superoffice.crt from mirrord keygen)")
	keyPath := fs.String("superoffice-key", "", "its private key (superoffice.key from mirrord keygen)")
	nonce := fs.String("nonce", "", "the token's nonce (default: 32 random hex characters)")
	if err := parse(fs, args, "app-id", "superoffice-cert", "superoffice-key"); err != nil {
		return err
	}
	key, cert, err := loadSigner(*certPath, *keyPath)
	if err != nil {
		return err
	}
	tok, err := auth.IssueToken(key, cert, auth.IssueClaims{AppID: *appID, Tenant: *tenantName, Nonce: *nonce})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tok)
	return nil
}
