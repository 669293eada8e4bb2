package auth

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxKeyFileBytes bounds every certificate or key file read: real ones are a few KiB.
const maxKeyFileBytes = 1 << 20

// certificate is a loaded SuperOffice certificate with what token checks need of it.
type certificate struct {
	key        *rsa.PublicKey
	thumbprint [sha1.Size]byte
	x5t        string
}

// X5T returns a certificate's JOSE x5t: the unpadded base64url SHA-1 thumbprint of its DER.
func X5T(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HexThumbprint returns a certificate's SHA-1 thumbprint in upper-case hex, as Windows and .NET
// show it.
func HexThumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// LoadCertificates reads SuperOffice's public certificates (.crt, PEM with one or more CERTIFICATE
// blocks, or DER) and makes them the Verifier's whole set, replacing any loaded before. Several
// files at once let a token from the old and the new certificate pass during a rotation.
func (v *Verifier) LoadCertificates(paths ...string) error {
	if len(paths) == 0 {
		return errors.New("auth: no certificate files given")
	}
	var all []*x509.Certificate
	var sources []string
	for _, path := range paths {
		certs, err := ReadCertificates(path)
		if err != nil {
			return err
		}
		for range certs {
			sources = append(sources, path)
		}
		all = append(all, certs...)
	}
	return v.setCertificates(all, sources)
}

// SetCertificates makes certs the Verifier's whole set, replacing any loaded before.
func (v *Verifier) SetCertificates(certs ...*x509.Certificate) error {
	sources := make([]string, len(certs))
	for i := range sources {
		sources[i] = fmt.Sprintf("certificate %d", i+1)
	}
	return v.setCertificates(certs, sources)
}

func (v *Verifier) setCertificates(certs []*x509.Certificate, sources []string) error {
	if len(certs) == 0 {
		return errors.New("auth: no certificates given")
	}
	set := make([]*certificate, 0, len(certs))
	seen := make(map[[sha1.Size]byte]bool, len(certs))
	for i, cert := range certs {
		if cert == nil {
			return fmt.Errorf("auth: %s is nil", sources[i])
		}
		key, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("auth: %s: certificate %q has a %T key; SuperOffice signs with RSA", sources[i], cert.Subject.CommonName, cert.PublicKey)
		}
		if err := checkPublicKey(key); err != nil {
			return fmt.Errorf("auth: %s: certificate %q: %w", sources[i], cert.Subject.CommonName, err)
		}
		c := &certificate{key: key, thumbprint: sha1.Sum(cert.Raw), x5t: X5T(cert)}
		if seen[c.thumbprint] {
			continue
		}
		seen[c.thumbprint] = true
		set = append(set, c)
	}
	v.certs.Store(&set)
	return nil
}

// ReadCertificates reads one certificate file, PEM or DER.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("auth: certificate file %s: %w", path, err)
	}
	return certs, nil
}

// ParseCertificates parses PEM holding one or more CERTIFICATE blocks, or DER holding one or
// more certificates.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if bytes.Contains(data, []byte("-----BEGIN")) {
		var certs []*x509.Certificate
		rest := data
		for n := 1; ; n++ {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", n, block.Type)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", n, err)
			}
			certs = append(certs, cert)
		}
		if len(certs) == 0 {
			return nil, errors.New("no PEM block could be decoded")
		}
		return certs, nil
	}
	if len(data) == 0 || data[0] != 0x30 {
		return nil, errors.New("neither PEM nor DER")
	}
	certs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("DER: %w", err)
	}
	return certs, nil
}

// chooseCertificates picks the certificates that may verify a token: the one its x5t (or, when
// it has no x5t, its kid) names, otherwise all of them.
func chooseCertificates(set []*certificate, h jwtHeader) ([]*certificate, error) {
	var want [sha1.Size]byte
	switch {
	case h.x5t != "":
		sum, ok := decodeX5T(h.x5t)
		if !ok {
			return nil, invalid("token header x5t is not a base64url SHA-1 thumbprint")
		}
		if h.kid != "" {
			if kidSum, ok := decodeKid(h.kid); ok && kidSum != sum {
				return nil, invalid("token header x5t and kid name different certificates")
			}
		}
		want = sum
	case h.kid != "":
		sum, ok := decodeKid(h.kid)
		if !ok {
			return nil, invalid("token header kid is not a certificate thumbprint (hex or base64url SHA-1)")
		}
		want = sum
	default:
		return set, nil
	}
	for _, c := range set {
		if c.thumbprint == want {
			return []*certificate{c}, nil
		}
	}
	return nil, invalid("token names certificate x5t %s, which is not loaded", base64.RawURLEncoding.EncodeToString(want[:]))
}

// decodeX5T accepts the base64url thumbprint with or without padding.
func decodeX5T(s string) ([sha1.Size]byte, bool) {
	var sum [sha1.Size]byte
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(raw) != sha1.Size {
		return sum, false
	}
	copy(sum[:], raw)
	return sum, true
}

// decodeKid accepts the thumbprint as hex in any case, or in x5t form.
func decodeKid(s string) ([sha1.Size]byte, bool) {
	var sum [sha1.Size]byte
	if len(s) == 2*sha1.Size {
		if raw, err := hex.DecodeString(s); err == nil {
			copy(sum[:], raw)
			return sum, true
		}
	}
	return decodeX5T(s)
}

// readSmallFile reads a key or certificate file, refusing one too large to be either.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("auth: reading %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("auth: %s is larger than %d bytes; not a key or certificate file", path, maxKeyFileBytes)
	}
	return data, nil
}
