package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testAppID = "app-4711"

var testNow = time.Date(2026, 3, 1, 10, 22, 30, 0, time.UTC)

// issuerKey is a key with its self-signed certificate, standing in for one SuperOffice certificate.
type issuerKey struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// testIssuers are made once per test binary: A and B are loaded into verifiers, C never is.
var testIssuers = sync.OnceValue(func() [3]issuerKey {
	var out [3]issuerKey
	for i := range out {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := selfSignedCertificate(key, testNow, 24*time.Hour)
		if err != nil {
			panic(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		out[i] = issuerKey{key, cert}
	}
	return out
})

func newTestVerifier(t *testing.T) *Verifier {
	t.Helper()
	is := testIssuers()
	v := &Verifier{AppID: testAppID, Now: func() time.Time { return testNow }}
	if err := v.SetCertificates(is[0].cert, is[1].cert); err != nil {
		t.Fatal(err)
	}
	return v
}

func issue(t *testing.T, by issuerKey, c IssueClaims) string {
	t.Helper()
	if c.AppID == "" {
		c.AppID = testAppID
	}
	if c.Tenant == "" {
		c.Tenant = "Cust12020"
	}
	if c.Now.IsZero() {
		c.Now = testNow
	}
	token, err := IssueToken(by.key, by.cert, c)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// signWith signs good claims with any method and key, for the algorithm confusion cases.
func signWith(t *testing.T, method jwt.SigningMethod, key any, header map[string]any) string {
	t.Helper()
	token := jwt.NewWithClaims(method, jwt.MapClaims{
		"iss": Issuer, "aud": "spn:" + testAppID, "sub": "Cust12020", ContextClaim: "Cust12020",
		"nonce": "0123456789abcdef0123456789abcdef",
		"nbf":   testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(5 * time.Minute).Unix(),
	})
	override(token.Header, header)
	s, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// replacePart swaps one dot-separated part of a token.
func replacePart(token string, i int, with string) string {
	parts := strings.Split(token, ".")
	parts[i] = with
	return strings.Join(parts, ".")
}

func TestVerify(t *testing.T) {
	is := testIssuers()
	a, b, c := is[0], is[1], is[2]
	publicPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := issue(t, a, IssueClaims{})

	cases := []struct {
		name    string
		token   string
		wantErr string // "" means accepted
	}{
		{"valid", good, ""},
		{"valid from second certificate", issue(t, b, IssueClaims{}), ""},
		{"surrounding whitespace", "\r\n\t " + good + " \n", ""},
		{"aud as array", issue(t, a, IssueClaims{Claims: map[string]any{"aud": []string{"spn:other", "spn:" + testAppID}}}), ""},
		{"expired within skew", issue(t, a, IssueClaims{Claims: map[string]any{"exp": testNow.Add(-time.Minute).Unix()}}), ""},
		{"not yet valid within skew", issue(t, a, IssueClaims{Claims: map[string]any{"nbf": testNow.Add(time.Minute).Unix()}}), ""},
		{"no x5t nor kid tries every certificate", issue(t, b, IssueClaims{Header: map[string]any{"x5t": nil, "kid": nil}}), ""},
		{"kid as lower-case hex", issue(t, b, IssueClaims{Header: map[string]any{"x5t": nil, "kid": strings.ToLower(HexThumbprint(b.cert))}}), ""},
		{"kid in x5t form", issue(t, b, IssueClaims{Header: map[string]any{"x5t": nil, "kid": X5T(b.cert)}}), ""},
		{"padded x5t", issue(t, a, IssueClaims{Header: map[string]any{"x5t": X5T(a.cert) + "="}}), ""},

		{"expired", issue(t, a, IssueClaims{Now: testNow.Add(-10 * time.Minute)}), "token expired at 2026-03-01T10:17:30Z"},
		{"expired just beyond skew", issue(t, a, IssueClaims{Claims: map[string]any{"exp": testNow.Add(-2*time.Minute - time.Second).Unix()}}), "token expired at"},
		{"not yet valid", issue(t, a, IssueClaims{Now: testNow.Add(10 * time.Minute)}), "token is not valid before 2026-03-01T10:31:30Z"},
		{"no exp", issue(t, a, IssueClaims{Claims: map[string]any{"exp": nil}}), "no exp"},
		{"no nbf", issue(t, a, IssueClaims{Claims: map[string]any{"nbf": nil}}), "no nbf"},
		{"wrong issuer", issue(t, a, IssueClaims{Claims: map[string]any{"iss": "SuperOffice ASA"}}), `issuer is "SuperOffice ASA", want "SuperOffice AS"`},
		{"no issuer", issue(t, a, IssueClaims{Claims: map[string]any{"iss": nil}}), "no iss"},
		{"wrong audience", issue(t, a, IssueClaims{AppID: "someone-else"}), `audience is ["spn:someone-else"], want "spn:app-4711"`},
		{"audience array without ours", issue(t, a, IssueClaims{Claims: map[string]any{"aud": []string{"spn:x", "spn:y"}}}), "audience is"},
		{"no audience", issue(t, a, IssueClaims{Claims: map[string]any{"aud": nil}}), "no aud"},
		{"missing context claim", issue(t, a, IssueClaims{Claims: map[string]any{ContextClaim: nil}}), "no " + ContextClaim},
		{"context differs from sub", issue(t, a, IssueClaims{Claims: map[string]any{"sub": "Cust99999"}}), `context "Cust12020" differs from sub "Cust99999"`},
		{"context with bad characters", issue(t, a, IssueClaims{Tenant: "Cust1;drop"}), `tenant name "Cust1;drop" has`},
		{"no sub", issue(t, a, IssueClaims{Claims: map[string]any{"sub": nil}}), "no sub"},
		{"missing nonce", issue(t, a, IssueClaims{Claims: map[string]any{"nonce": nil}}), "no nonce"},
		{"nonce with a dot", issue(t, a, IssueClaims{Nonce: "abc.def"}), "nonce has"},

		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), `algorithm "none" is not allowed`},
		{"alg none with x5t", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"x5t": X5T(a.cert)}), `algorithm "none" is not allowed`},
		{"HS256 with the public key PEM as secret", signWith(t, jwt.SigningMethodHS256, publicPEM, map[string]any{"x5t": X5T(a.cert)}), `algorithm "HS256" is not allowed`},
		{"HS256 with the certificate DER as secret", signWith(t, jwt.SigningMethodHS256, a.cert.Raw, nil), `algorithm "HS256" is not allowed`},
		{"RS384 with the right key", signWith(t, jwt.SigningMethodRS384, a.key, nil), `algorithm "RS384" is not allowed`},
		{"PS256 with the right key", signWith(t, jwt.SigningMethodPS256, a.key, nil), `algorithm "PS256" is not allowed`},
		{"ES256", signWith(t, jwt.SigningMethodES256, ecKey, nil), `algorithm "ES256" is not allowed`},
		{"alg RS256 in header over an RS384 signature", replacePart(signWith(t, jwt.SigningMethodRS384, a.key, nil), 0, b64(`{"alg":"RS256","typ":"JWT"}`)), "signature does not verify"},
		{"crit header", issue(t, a, IssueClaims{Header: map[string]any{"crit": []string{"exp"}}}), "crit"},

		{"tampered payload", replacePart(good, 1, b64(`{"iss":"SuperOffice AS","aud":"spn:app-4711","sub":"Cust1","http://schemes.superoffice.net/identity/ctx":"Cust1","nonce":"0123456789abcdef0123456789abcdef","nbf":1772360490,"exp":1772360850}`)), "signature does not verify with certificate x5t " + X5T(a.cert)},
		{"tampered signature", func() string {
			sig := []byte(strings.Split(good, ".")[2])
			if sig[10] == 'A' {
				sig[10] = 'B'
			} else {
				sig[10] = 'A'
			}
			return replacePart(good, 2, string(sig))
		}(), "signature does not verify"},
		{"signature from another key", replacePart(good, 2, strings.Split(issue(t, c, IssueClaims{Header: map[string]any{"x5t": X5T(a.cert), "kid": nil}}), ".")[2]), "signature does not verify"},
		{"unknown certificate", issue(t, c, IssueClaims{}), "token names certificate x5t " + X5T(c.cert) + ", which is not loaded"},
		{"unknown certificate by kid", issue(t, c, IssueClaims{Header: map[string]any{"x5t": nil}}), "which is not loaded"},
		{"unknown certificate, unnamed", issue(t, c, IssueClaims{Header: map[string]any{"x5t": nil, "kid": nil}}), "does not verify with any of the 2 loaded certificates"},
		{"x5t naming another certificate", issue(t, c, IssueClaims{Header: map[string]any{"x5t": X5T(a.cert), "kid": nil}}), "does not verify with certificate x5t " + X5T(a.cert)},
		{"x5t and kid disagree", issue(t, a, IssueClaims{Header: map[string]any{"kid": HexThumbprint(b.cert)}}), "x5t and kid name different certificates"},
		{"x5t not a thumbprint", issue(t, a, IssueClaims{Header: map[string]any{"x5t": "abc"}}), "x5t is not a base64url SHA-1 thumbprint"},
		{"kid not a thumbprint", issue(t, a, IssueClaims{Header: map[string]any{"x5t": nil, "kid": "key-1"}}), "kid is not a certificate thumbprint"},
		{"x5t not a string", issue(t, a, IssueClaims{Header: map[string]any{"x5t": 7}}), "header field x5t is not a string"},

		{"empty", "  ", "token is empty"},
		{"two parts", strings.Join(strings.Split(good, ".")[:2], "."), "2 dot-separated parts"},
		{"four parts", good + ".x", "4 dot-separated parts"},
		{"header not base64", replacePart(good, 0, "e30*"), "token header is not unpadded base64url"},
		{"header padded base64", replacePart(good, 0, base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256","ab":1}`))), "token header is not unpadded base64url"},
		{"header not JSON", replacePart(good, 0, b64(`{"alg":"RS256"`)), "token header is not a valid JSON object"},
		{"header without alg", replacePart(good, 0, b64(`{"typ":"JWT"}`)), "header has no alg"},
		{"payload not base64", replacePart(good, 1, "eyJ!"), "token payload is not unpadded base64url"},
		{"payload not JSON", replacePart(good, 1, b64(`{"iss":`)), "token payload is not a valid JSON object"},
		{"payload an array", replacePart(good, 1, b64(`[1,2]`)), "token payload is not a valid JSON object"},
		{"payload nonce of wrong type", replacePart(good, 1, b64(`{"nonce":12}`)), `token payload field "nonce" has the wrong JSON type`},
		{"signature not base64", replacePart(good, 2, "a+b/"), "token signature is not unpadded base64url"},
		{"oversized", good + "." + strings.Repeat("A", MaxTokenBytes), "bytes long; at most 16384"},
	}
	v := newTestVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := v.Verify(tc.token)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if claims.Tenant != "Cust12020" || claims.Subject != "Cust12020" || claims.Nonce == "" {
					t.Errorf("claims = %+v", claims)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %q does not wrap ErrInvalidToken", err)
			}
			assertNoTokenText(t, err, tc.token)
		})
	}
}

// assertNoTokenText fails when an error quotes the token or any sizeable piece of it.
func assertNoTokenText(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	token = strings.TrimSpace(token)
	if token != "" && strings.Contains(msg, token) {
		t.Fatalf("error quotes the token: %q", msg)
	}
	for i, part := range strings.Split(token, ".") {
		for start := 0; start+16 <= len(part); start += 8 {
			if strings.Contains(msg, part[start:start+16]) {
				t.Fatalf("error quotes part %d of the token: %q", i+1, msg)
			}
		}
	}
}

func TestVerifyClaims(t *testing.T) {
	is := testIssuers()
	v := newTestVerifier(t)
	token := issue(t, is[1], IssueClaims{Nonce: "00112233445566778899aabbccddeeff"})
	claims, err := v.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{
		Tenant: "Cust12020", Subject: "Cust12020", Nonce: "00112233445566778899aabbccddeeff",
		Issuer: Issuer, Audience: []string{"spn:" + testAppID},
		IssuedAt: testNow.Truncate(time.Second), NotBefore: testNow.Add(-time.Minute).Truncate(time.Second),
		Expiry: testNow.Add(5 * time.Minute).Truncate(time.Second), Certificate: X5T(is[1].cert),
	}
	if claims.Tenant != want.Tenant || claims.Subject != want.Subject || claims.Nonce != want.Nonce ||
		claims.Issuer != want.Issuer || len(claims.Audience) != 1 || claims.Audience[0] != want.Audience[0] ||
		!claims.IssuedAt.Equal(want.IssuedAt) || !claims.NotBefore.Equal(want.NotBefore) ||
		!claims.Expiry.Equal(want.Expiry) || claims.Certificate != want.Certificate {
		t.Errorf("claims = %+v\nwant     %+v", claims, want)
	}
}

func TestVerifySkew(t *testing.T) {
	is := testIssuers()
	token := issue(t, is[0], IssueClaims{Claims: map[string]any{"exp": testNow.Add(-90 * time.Second).Unix()}})
	for _, tc := range []struct {
		skew   time.Duration
		accept bool
	}{{0, true}, {2 * time.Minute, true}, {time.Minute, false}, {-1, false}} {
		v := newTestVerifier(t)
		v.Skew = tc.skew
		_, err := v.Verify(token)
		if (err == nil) != tc.accept {
			t.Errorf("skew %s: err = %v, want accepted %v", tc.skew, err, tc.accept)
		}
	}
}

func TestVerifierNotConfigured(t *testing.T) {
	is := testIssuers()
	token := issue(t, is[0], IssueClaims{})
	noApp := &Verifier{}
	if err := noApp.SetCertificates(is[0].cert); err != nil {
		t.Fatal(err)
	}
	noCerts := &Verifier{AppID: testAppID}
	for name, v := range map[string]*Verifier{"no AppID": noApp, "no certificates": noCerts} {
		_, err := v.Verify(token)
		if err == nil || errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want a configuration error that is not ErrInvalidToken", name, err)
		}
	}
}

func TestRotation(t *testing.T) {
	is := testIssuers()
	dir := t.TempDir()
	pemOf := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldPEM := write("old.crt", pemOf(is[0].cert))
	newDER := write("new.crt", is[1].cert.Raw)
	bundle := write("bundle.crt", append(append([]byte("\xEF\xBB\xBF"), pemOf(is[0].cert)...), []byte(strings.ReplaceAll(string(pemOf(is[1].cert)), "\n", "\r\n"))...))

	for _, files := range [][]string{{oldPEM, newDER}, {bundle}} {
		v := &Verifier{AppID: testAppID, Now: func() time.Time { return testNow }}
		if err := v.LoadCertificates(files...); err != nil {
			t.Fatal(err)
		}
		for i, by := range is[:2] {
			for _, header := range []map[string]any{nil, {"x5t": nil, "kid": nil}} {
				claims, err := v.Verify(issue(t, by, IssueClaims{Header: header}))
				if err != nil {
					t.Fatalf("%v: token of certificate %d (header %v): %v", files, i, header, err)
				}
				if claims.Certificate != X5T(by.cert) {
					t.Errorf("%v: verified by %s, want %s", files, claims.Certificate, X5T(by.cert))
				}
			}
		}
	}

	// Replacing the set drops the old certificate.
	v := &Verifier{AppID: testAppID, Now: func() time.Time { return testNow }}
	if err := v.LoadCertificates(oldPEM, newDER); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadCertificates(newDER); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(issue(t, is[0], IssueClaims{})); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("token of the dropped certificate: err = %v", err)
	}
}

func TestParseCertificatesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "neither PEM nor DER"},
		{"text", "hello", "neither PEM nor DER"},
		{"key block", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", `PEM block 1 is "PUBLIC KEY", want CERTIFICATE`},
		{"broken PEM", "-----BEGIN CERTIFICATE-----\n", "no PEM block"},
		{"bad DER", "\x30\x03\x01\x02", "DER:"},
	} {
		if _, err := ParseCertificates([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var v Verifier
	if err := v.SetCertificates(ecCert); err == nil || !strings.Contains(err.Error(), "SuperOffice signs with RSA") {
		t.Errorf("ECDSA certificate: err = %v", err)
	}
}

// TestErrorsNeverQuoteTheToken mutates a good token in many ways and checks that every refusal
// is an ErrInvalidToken whose text holds no piece of the token.
func TestErrorsNeverQuoteTheToken(t *testing.T) {
	is := testIssuers()
	v := newTestVerifier(t)
	good := issue(t, is[0], IssueClaims{})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"\x00"
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	for i := 0; i < 1500; i++ {
		token := []byte(good)
		switch rng.IntN(3) {
		case 0: // replace a byte
			token[rng.IntN(len(token))] = alphabet[rng.IntN(len(alphabet))]
		case 1: // cut the token short
			token = token[:rng.IntN(len(token))]
		case 2: // insert a byte
			at := rng.IntN(len(token) + 1)
			token = append(token[:at], append([]byte{alphabet[rng.IntN(len(alphabet))]}, token[at:]...)...)
		}
		if strings.TrimSpace(string(token)) == good {
			continue
		}
		_, err := v.Verify(string(token))
		if err == nil {
			t.Fatalf("mutation %d was accepted", i)
		}
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("mutation %d: error %q does not wrap ErrInvalidToken", i, err)
		}
		assertNoTokenText(t, err, string(token))
	}
}

// TestVerifyConcurrentWithReload runs Verify on several goroutines while the certificate set is
// replaced, as a certificate rotation at run time does.
func TestVerifyConcurrentWithReload(t *testing.T) {
	is := testIssuers()
	v := newTestVerifier(t)
	token := issue(t, is[1], IssueClaims{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := v.Verify(token); err != nil {
					t.Errorf("Verify during reload: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		if err := v.SetCertificates(is[i%2].cert, is[1].cert); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}
