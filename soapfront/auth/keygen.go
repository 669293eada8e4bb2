package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// KeygenOptions tunes GenerateKeys; the zero value is a sound default.
type KeygenOptions struct {
	Bits      int           // RSA key size; 0 means 2048
	Now       time.Time     // zero: time.Now(); the certificate is valid from an hour before
	Validity  time.Duration // certificate lifetime; 0 means 10 years
	Overwrite bool          // replace existing files instead of refusing
}

// KeyFiles are the paths GenerateKeys wrote.
type KeyFiles struct {
	PartnerXML       string // partner private key, .NET RSA XML (what SuperOffice hands out)
	PartnerKey       string // partner private key, PEM PKCS#8
	PartnerPublicPEM string // partner public key, PEM PUBLIC KEY
	PartnerPublicXML string // partner public key, .NET RSA XML
	SuperOfficeCert  string // self-signed test certificate standing in for SuperOffice's
	SuperOfficeKey   string // its private key, PEM PKCS#8
}

// GenerateKeys writes a partner key pair and a test SuperOffice certificate with its key into
// dir, for tests and demos. Files holding private keys get mode 0600. Unless Overwrite is set,
// it refuses to run when any of the files exists, so that a real key is never replaced.
func GenerateKeys(dir string, opts KeygenOptions) (KeyFiles, error) {
	bits := opts.Bits
	if bits == 0 {
		bits = 2048
	}
	if bits < minKeyBits {
		return KeyFiles{}, fmt.Errorf("auth: key size %d bits is below the minimum %d", bits, minKeyBits)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	validity := opts.Validity
	if validity <= 0 {
		validity = 10 * 365 * 24 * time.Hour
	}
	files := KeyFiles{
		PartnerXML:       filepath.Join(dir, "partner.xml"),
		PartnerKey:       filepath.Join(dir, "partner.key"),
		PartnerPublicPEM: filepath.Join(dir, "partner.pub.pem"),
		PartnerPublicXML: filepath.Join(dir, "partner.pub.xml"),
		SuperOfficeCert:  filepath.Join(dir, "superoffice.crt"),
		SuperOfficeKey:   filepath.Join(dir, "superoffice.key"),
	}
	paths := []string{files.PartnerXML, files.PartnerKey, files.PartnerPublicPEM, files.PartnerPublicXML, files.SuperOfficeCert, files.SuperOfficeKey}
	if !opts.Overwrite {
		for _, p := range paths {
			if _, err := os.Lstat(p); err == nil {
				return KeyFiles{}, fmt.Errorf("auth: %s exists; refusing to overwrite a key", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return KeyFiles{}, fmt.Errorf("auth: %w", err)
			}
		}
	}

	partner, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("auth: generating the partner key: %w", err)
	}
	issuer, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("auth: generating the SuperOffice test key: %w", err)
	}
	certDER, err := selfSignedCertificate(issuer, now, validity)
	if err != nil {
		return KeyFiles{}, err
	}
	partnerXML, err := MarshalRSAXMLPrivateKey(partner)
	if err != nil {
		return KeyFiles{}, err
	}
	partnerPublicXML, err := MarshalRSAXMLPublicKey(&partner.PublicKey)
	if err != nil {
		return KeyFiles{}, err
	}
	partnerPKCS8, err := x509.MarshalPKCS8PrivateKey(partner)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("auth: encoding the partner key: %w", err)
	}
	partnerPKIX, err := x509.MarshalPKIXPublicKey(&partner.PublicKey)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("auth: encoding the partner public key: %w", err)
	}
	issuerPKCS8, err := x509.MarshalPKCS8PrivateKey(issuer)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("auth: encoding the SuperOffice test key: %w", err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return KeyFiles{}, fmt.Errorf("auth: %w", err)
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{files.PartnerXML, partnerXML, 0o600},
		{files.PartnerKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: partnerPKCS8}), 0o600},
		{files.PartnerPublicPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: partnerPKIX}), 0o644},
		{files.PartnerPublicXML, partnerPublicXML, 0o644},
		{files.SuperOfficeCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o644},
		{files.SuperOfficeKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: issuerPKCS8}), 0o600},
	} {
		if err := writeFileAtomically(f.path, f.data, f.mode); err != nil {
			return KeyFiles{}, err
		}
	}
	return files, nil
}

// selfSignedCertificate makes the stand-in for SuperOffice's token signing certificate.
func selfSignedCertificate(key *rsa.PrivateKey, now time.Time, validity time.Duration) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("auth: making a certificate serial: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "SuperOffice AS test", Organization: []string{"SuperOffice AS"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("auth: making the test certificate: %w", err)
	}
	return der, nil
}

// writeFileAtomically writes through a temporary file so that a reader never sees half a key,
// and sets the mode before any key byte is written.
func writeFileAtomically(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("auth: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}
