package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IssueClaims describes a token for IssueToken. The zero value of each field takes a default;
// Claims and Header then set or (with a nil value) remove any entry, so tests can make every
// kind of bad token.
type IssueClaims struct {
	AppID  string    // aud is "spn:<AppID>"
	Tenant string    // sub and the context claim
	Nonce  string    // empty: 32 random hex characters
	Now    time.Time // zero: time.Now(); nbf is Now-1min, exp Now+5min, iat Now

	Claims map[string]any // overrides of payload entries; nil removes the entry
	Header map[string]any // overrides of header entries (alg, typ, x5t, kid); nil removes
}

// IssueToken makes a token shaped like SuperOffice's, signed RS256 with key, whose header names
// cert by x5t and kid. It is the issuer side for tests and the sending tool.
func IssueToken(key *rsa.PrivateKey, cert *x509.Certificate, c IssueClaims) (string, error) {
	if key == nil || cert == nil {
		return "", errors.New("auth: IssueToken needs a key and its certificate")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return "", fmt.Errorf("auth: the key does not belong to certificate %q", cert.Subject.CommonName)
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	nonce := c.Nonce
	if nonce == "" {
		var err error
		if nonce, err = NewNonce(); err != nil {
			return "", err
		}
	}
	claims := jwt.MapClaims{
		"iss":        Issuer,
		"aud":        "spn:" + c.AppID,
		"sub":        c.Tenant,
		ContextClaim: c.Tenant,
		"nonce":      nonce,
		"nbf":        now.Add(-time.Minute).Unix(),
		"exp":        now.Add(5 * time.Minute).Unix(),
		"iat":        now.Unix(),
	}
	override(claims, c.Claims)
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["x5t"] = X5T(cert)
	token.Header["kid"] = HexThumbprint(cert)
	override(token.Header, c.Header)
	signed, err := token.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("auth: signing the token: %w", err)
	}
	return signed, nil
}

// NewNonce returns 32 random hex characters, the form SuperOffice's nonces take.
func NewNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: making a nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func override(into, from map[string]any) {
	for k, v := range from {
		if v == nil {
			delete(into, k)
		} else {
			into[k] = v
		}
	}
}
