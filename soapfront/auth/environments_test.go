package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestEnvironmentCertificates checks the built-in certificates against the SHA-256 fingerprints
// SuperOffice's certificates are published with, and their subjects and lifetimes.
func TestEnvironmentCertificates(t *testing.T) {
	cases := []struct{ env, fingerprint, subject string }{
		{"sod", "D2:AA:33:8F:0E:31:A4:83:C3:A2:2C:C0:53:BD:A2:6E:61:7D:8A:91:EB:B4:87:06:AB:09:C3:4E:B0:15:A4:B8", "Development"},
		{"development", "D2:AA:33:8F:0E:31:A4:83:C3:A2:2C:C0:53:BD:A2:6E:61:7D:8A:91:EB:B4:87:06:AB:09:C3:4E:B0:15:A4:B8", "Development"},
		{"stage", "BA:94:2C:6E:17:ED:B4:D2:23:D3:38:07:93:D3:A8:8F:2C:B3:3D:D3:59:3D:29:52:74:13:2D:9D:44:FC:07:F2", "Stage"},
		{"Production", "40:50:66:FC:A0:07:EC:FD:B2:CF:20:73:ED:54:B2:A9:87:B0:E8:D8:F4:52:22:2F:DC:6F:A0:29:87:26:0C:D7", "Production"},
	}
	for _, c := range cases {
		certs, err := EnvironmentCertificates(c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.env, err)
		}
		if len(certs) != 1 {
			t.Fatalf("%s: %d certificates", c.env, len(certs))
		}
		sum := sha256.Sum256(certs[0].Raw)
		got := strings.ToUpper(hex.EncodeToString(sum[:]))
		if want := strings.ReplaceAll(c.fingerprint, ":", ""); got != want {
			t.Errorf("%s: fingerprint %s, want %s", c.env, got, want)
		}
		if cn := certs[0].Subject.CommonName; !strings.Contains(cn, c.subject) || !strings.Contains(cn, "Federated Login") {
			t.Errorf("%s: subject %q", c.env, cn)
		}
		if certs[0].NotAfter.Before(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: valid until %v only", c.env, certs[0].NotAfter)
		}
		var v Verifier
		if err := v.SetCertificates(certs...); err != nil {
			t.Errorf("%s: the verifier refuses it: %v", c.env, err)
		}
	}
	if _, err := EnvironmentCertificates("prod"); err == nil || !strings.Contains(err.Error(), "production") {
		t.Errorf("an unknown environment: %v", err)
	}
}
