package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadFixtureKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	key, err := LoadPartnerKey(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestLoadPartnerKeyFormatsAgree(t *testing.T) {
	fromXML := loadFixtureKey(t, "fixture_private.xml")
	for _, name := range []string{"fixture_pkcs1.pem", "fixture_pkcs8.pem"} {
		other := loadFixtureKey(t, name)
		if !fromXML.Equal(other) {
			t.Errorf("%s is not the key of fixture_private.xml", name)
		}
		if fromXML.D.Cmp(other.D) != 0 || fromXML.Primes[0].Cmp(other.Primes[0]) != 0 || fromXML.Primes[1].Cmp(other.Primes[1]) != 0 {
			t.Errorf("%s: private fields differ from the XML's", name)
		}
	}
}

func TestRSAXMLRoundTrip(t *testing.T) {
	key := loadFixtureKey(t, "fixture_private.xml")
	got, err := MarshalRSAXMLPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.TrimSpace(readFixture(t, "fixture_private.xml")); !bytes.Equal(got, want) {
		t.Errorf("private XML differs from the .NET fixture:\n got %s\nwant %s", got, want)
	}
	// The PEM key has no padding information, so it must come out the same.
	got, err = MarshalRSAXMLPrivateKey(loadFixtureKey(t, "fixture_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.TrimSpace(readFixture(t, "fixture_private.xml")); !bytes.Equal(got, want) {
		t.Errorf("private XML of the PEM key differs from the .NET fixture")
	}
	gotPublic, err := MarshalRSAXMLPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.TrimSpace(readFixture(t, "fixture_public.xml")); !bytes.Equal(gotPublic, want) {
		t.Errorf("public XML differs from the fixture:\n got %s\nwant %s", gotPublic, want)
	}
}

func TestParsePartnerPublicKey(t *testing.T) {
	key := loadFixtureKey(t, "fixture_pkcs1.pem")
	certDER, err := selfSignedCertificate(key, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"public XML":            readFixture(t, "fixture_public.xml"),
		"private XML":           readFixture(t, "fixture_private.xml"),
		"PUBLIC KEY":            readFixture(t, "fixture_public.pem"),
		"RSA PUBLIC KEY":        readFixture(t, "fixture_rsa_public.pem"),
		"CERTIFICATE":           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		"XML with BOM and decl": append([]byte("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"), readFixture(t, "fixture_public.xml")...),
	}
	for name, data := range inputs {
		pub, err := ParsePartnerPublicKey(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !pub.Equal(&key.PublicKey) {
			t.Errorf("%s: not the fixture's public key", name)
		}
	}
}

func TestParsePartnerKeyTolerance(t *testing.T) {
	want := loadFixtureKey(t, "fixture_pkcs1.pem")
	fixture := string(readFixture(t, "fixture_private.xml"))
	// A hand-edited file: declaration, BOM, indentation, and base64 wrapped over lines.
	var wrapped strings.Builder
	wrapped.WriteString("\xEF\xBB\xBF<?xml version=\"1.0\"?>\n")
	for _, piece := range regexp.MustCompile(`<[^>]+>|[^<]+`).FindAllString(fixture, -1) {
		if strings.HasPrefix(piece, "<") {
			wrapped.WriteString(piece)
			if strings.HasPrefix(piece, "</") {
				wrapped.WriteString("\n  ")
			}
			continue
		}
		for len(piece) > 64 {
			wrapped.WriteString(piece[:64] + "\r\n    ")
			piece = piece[64:]
		}
		wrapped.WriteString(piece)
	}
	key, err := ParsePartnerKey([]byte(wrapped.String()))
	if err != nil {
		t.Fatalf("wrapped XML: %v", err)
	}
	if !key.Equal(want) {
		t.Error("wrapped XML is not the fixture key")
	}
}

func TestParsePartnerKeyErrors(t *testing.T) {
	fixture := string(readFixture(t, "fixture_private.xml"))
	field := func(name string) string {
		m := regexp.MustCompile(`<` + name + `>([^<]*)</` + name + `>`).FindStringSubmatch(fixture)
		if m == nil {
			t.Fatalf("fixture has no %s", name)
		}
		return m[1]
	}
	replaceField := func(name, value string) string {
		return strings.Replace(fixture, "<"+name+">"+field(name)+"</"+name+">", "<"+name+">"+value+"</"+name+">", 1)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "neither RSA XML"},
		{"text", "hello", "neither RSA XML"},
		{"other root", "<KeyValue><Modulus>AQAB</Modulus></KeyValue>", "RSA XML:"},
		{"missing P", replaceField("P", ""), "RSA XML has no <P>"},
		{"missing D", strings.Replace(fixture, "<D>"+field("D")+"</D>", "", 1), "RSA XML has no <D>"},
		{"bad base64", replaceField("Q", "!!!!"), "RSA XML <Q> is not base64"},
		{"DP swapped with DQ", replaceField("DP", field("DQ")), "not a consistent RSA key"},
		{"InverseQ wrong", replaceField("InverseQ", field("P")), "not a consistent RSA key"},
		{"D wrong", replaceField("D", field("Modulus")), "not a consistent RSA key"},
		{"short modulus", "<RSAKeyValue><Modulus>" + strings.Repeat("AAEC", 16) + "</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>", "at least 1024"},
		{"even exponent", replaceField("Exponent", "AQAC"), "exponent 65538"},
		{"public only", string(readFixture(t, "fixture_public.xml")), "RSA XML has no <P>"},
		{"public PEM", string(readFixture(t, "fixture_public.pem")), `PEM block is "PUBLIC KEY"`},
		{"encrypted PEM", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"EC key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8})), "want RSA"},
		{"broken PKCS#1", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "PEM RSA PRIVATE KEY:"},
	} {
		if _, err := ParsePartnerKey([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadPartnerKey(filepath.Join("testdata", "fixture_public.xml")); err == nil || !strings.Contains(err.Error(), "fixture_public.xml") {
		t.Errorf("LoadPartnerKey error does not name the file: %v", err)
	}
	if _, err := LoadPartnerKey(filepath.Join(t.TempDir(), "absent.xml")); err == nil {
		t.Error("LoadPartnerKey of a missing file succeeded")
	}
}

func TestParsePartnerPublicKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "neither RSA XML"},
		{"no modulus", "<RSAKeyValue><Exponent>AQAB</Exponent></RSAKeyValue>", "no <Modulus>"},
		{"private PEM", string(readFixture(t, "fixture_pkcs1.pem")), `PEM block is "RSA PRIVATE KEY"`},
		{"huge exponent", "<RSAKeyValue><Modulus>" + strings.Repeat("/w==", 1) + "</Modulus><Exponent>AQAAAAAB</Exponent></RSAKeyValue>", "Exponent> is 41 bits"},
	} {
		if _, err := ParsePartnerPublicKey([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestSignApplicationTokenKnownAnswer(t *testing.T) {
	key := loadFixtureKey(t, "fixture_private.xml")
	want := strings.TrimSpace(string(readFixture(t, "fixture_apptoken.txt")))
	// 11:22:45 at +01:00 is 10:22 UTC: the timestamp is always UTC and cut to the minute.
	at := time.Date(2026, 3, 1, 11, 22, 45, 0, time.FixedZone("CET", 3600))
	got, err := SignApplicationToken(key, "0123456789abcdef0123456789abcdef", at)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("application token differs from openssl's:\n got %s\nwant %s", got, want)
	}
}

func TestVerifyApplicationToken(t *testing.T) {
	key := loadFixtureKey(t, "fixture_private.xml")
	pub, err := LoadPartnerPublicKey(filepath.Join("testdata", "fixture_public.xml"))
	if err != nil {
		t.Fatal(err)
	}
	other := testIssuers()[0].key
	const nonce = "0123456789abcdef0123456789abcdef"
	signedAt := time.Date(2026, 3, 1, 10, 22, 0, 0, time.UTC)
	token, err := SignApplicationToken(key, nonce, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	tampered := []byte(parts[2])
	if tampered[5] == 'A' {
		tampered[5] = 'B'
	} else {
		tampered[5] = 'A'
	}
	for _, tc := range []struct {
		name, token, nonce string
		now                time.Time
		window             time.Duration
		pub                *rsa.PublicKey
		want               string // "" means accepted
	}{
		{"valid", token, nonce, signedAt.Add(30 * time.Second), 0, pub, ""},
		{"whitespace", " " + token + "\n", nonce, signedAt, 0, pub, ""},
		{"14 minutes later", token, nonce, signedAt.Add(14 * time.Minute), 0, pub, ""},
		{"15 minutes earlier", token, nonce, signedAt.Add(-15 * time.Minute), 0, pub, ""},
		{"16 minutes later", token, nonce, signedAt.Add(16 * time.Minute), 0, pub, "is 16m0s from now"},
		{"16 minutes earlier", token, nonce, signedAt.Add(-16 * time.Minute), 0, pub, "is 16m0s from now"},
		{"custom window", token, nonce, signedAt.Add(2 * time.Minute), time.Minute, pub, "at most 1m0s"},
		{"wrong nonce", token, "fedcba9876543210fedcba9876543210", signedAt, 0, pub, "nonce differs"},
		{"tampered signature", strings.Join([]string{parts[0], parts[1], string(tampered)}, "."), nonce, signedAt, 0, pub, "does not verify"},
		{"tampered timestamp", strings.Join([]string{parts[0], "202603011023", parts[2]}, "."), nonce, signedAt, 0, pub, "does not verify"},
		{"other key", token, nonce, signedAt, 0, &other.PublicKey, "does not verify"},
		{"two parts", parts[0] + "." + parts[1], nonce, signedAt, 0, pub, "2 dot-separated parts"},
		{"short timestamp", strings.Join([]string{parts[0], "2026030110", parts[2]}, "."), nonce, signedAt, 0, pub, "not UTC yyyyMMddHHmm"},
		{"signature not base64", strings.Join([]string{parts[0], parts[1], "a-b_"}, "."), nonce, signedAt, 0, pub, "not standard base64"},
		{"no key", token, nonce, signedAt, 0, nil, "no partner public key"},
	} {
		err := VerifyApplicationToken(tc.pub, tc.token, tc.nonce, tc.now, tc.window)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), parts[2][:16]) {
			t.Errorf("%s: error quotes the signature: %v", tc.name, err)
		}
	}
	for _, bad := range []string{"", "a.b", "a b", strings.Repeat("f", 257)} {
		if _, err := SignApplicationToken(key, bad, signedAt); err == nil {
			t.Errorf("SignApplicationToken accepted nonce %q", bad)
		}
	}
}
