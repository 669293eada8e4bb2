package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	files, err := GenerateKeys(dir, KeygenOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{
		files.PartnerXML: 0o600, files.PartnerKey: 0o600, files.SuperOfficeKey: 0o600,
		files.PartnerPublicPEM: 0o644, files.PartnerPublicXML: 0o644, files.SuperOfficeCert: 0o644,
	}
	if len(modes) != 6 {
		t.Fatalf("GenerateKeys returned %d distinct paths, want 6: %+v", len(modes), files)
	}
	for path, want := range modes {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		t.Errorf("dir holds %d entries, want 6 (no temporary files left)", len(entries))
	}

	partner, err := LoadPartnerKey(files.PartnerXML)
	if err != nil {
		t.Fatal(err)
	}
	if bits := partner.N.BitLen(); bits != 2048 {
		t.Errorf("partner key is %d bits, want 2048", bits)
	}
	partnerPEM, err := LoadPartnerKey(files.PartnerKey)
	if err != nil {
		t.Fatal(err)
	}
	if !partner.Equal(partnerPEM) {
		t.Error("partner.xml and partner.key hold different keys")
	}
	for _, path := range []string{files.PartnerPublicPEM, files.PartnerPublicXML} {
		pub, err := LoadPartnerPublicKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(&partner.PublicKey) {
			t.Errorf("%s is not the partner's public key", filepath.Base(path))
		}
	}

	certs, err := ReadCertificates(files.SuperOfficeCert)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || certs[0].Subject.CommonName != "SuperOffice AS test" {
		t.Fatalf("certificate file holds %d certificates, first CN %q", len(certs), certs[0].Subject.CommonName)
	}
	issuer, err := LoadPartnerKey(files.SuperOfficeKey)
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{AppID: testAppID, Now: func() time.Time { return testNow }}
	if err := v.LoadCertificates(files.SuperOfficeCert); err != nil {
		t.Fatal(err)
	}
	token, err := IssueToken(issuer, certs[0], IssueClaims{AppID: testAppID, Tenant: "Cust10195", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(token)
	if err != nil {
		t.Fatalf("token issued with the generated key: %v", err)
	}
	if claims.Tenant != "Cust10195" || len(claims.Nonce) != 32 {
		t.Errorf("claims = %+v", claims)
	}
	answer, err := SignApplicationToken(partner, claims.Nonce, testNow)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPartnerPublicKey(files.PartnerPublicXML)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyApplicationToken(pub, answer, claims.Nonce, testNow, 0); err != nil {
		t.Errorf("application token of the generated key: %v", err)
	}

	// A second run must not replace the keys unless asked to.
	if _, err := GenerateKeys(dir, KeygenOptions{Bits: 1024}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second run: err = %v, want a refusal", err)
	}
	if _, err := GenerateKeys(dir, KeygenOptions{Bits: 1024, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	replaced, err := LoadPartnerKey(files.PartnerXML)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Equal(partner) || replaced.N.BitLen() != 1024 {
		t.Error("Overwrite did not replace the partner key")
	}
	info, err := os.Stat(files.PartnerXML)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("overwritten partner.xml has mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := GenerateKeys(t.TempDir(), KeygenOptions{Bits: 512}); err == nil {
		t.Error("512-bit keys were generated")
	}
}

func TestIssueTokenChecksItsInput(t *testing.T) {
	is := testIssuers()
	if _, err := IssueToken(is[0].key, is[1].cert, IssueClaims{}); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key and certificate: err = %v", err)
	}
	if _, err := IssueToken(nil, is[0].cert, IssueClaims{}); err == nil {
		t.Error("nil key accepted")
	}
}
