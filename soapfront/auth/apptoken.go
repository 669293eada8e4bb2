package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultApplicationTokenWindow is how far an application token's timestamp may be from the
// verifier's clock, as SuperOffice's verifier allows.
const DefaultApplicationTokenWindow = 15 * time.Minute

// applicationTimeLayout is UTC yyyyMMddHHmm.
const applicationTimeLayout = "200601021504"

// SignApplicationToken makes Authenticate's SignedApplicationToken:
// "<nonce>.<UTC yyyyMMddHHmm>.<base64 RSA PKCS#1 v1.5 SHA-256 signature of "<nonce>.<timestamp>">".
func SignApplicationToken(key *rsa.PrivateKey, nonce string, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("auth: no partner key to sign the application token with")
	}
	if err := checkNonce(nonce); err != nil {
		return "", fmt.Errorf("auth: application token: %w", err)
	}
	signed := nonce + "." + now.UTC().Format(applicationTimeLayout)
	digest := sha256.Sum256([]byte(signed))
	signature, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("auth: signing the application token: %w", err)
	}
	return signed + "." + base64.StdEncoding.EncodeToString(signature), nil
}

// VerifyApplicationToken checks a SignedApplicationToken as SuperOffice does: the nonce it sent,
// a timestamp within window of now (0 means DefaultApplicationTokenWindow), and the signature
// by the partner's key. The timestamp has minute precision, so a token is accepted until window
// after the start of the minute it was signed in.
func VerifyApplicationToken(pub *rsa.PublicKey, token, wantNonce string, now time.Time, window time.Duration) error {
	if pub == nil {
		return errors.New("auth: no partner public key to verify the application token with")
	}
	if window == 0 {
		window = DefaultApplicationTokenWindow
	}
	token = strings.TrimSpace(token)
	if len(token) > MaxTokenBytes {
		return fmt.Errorf("application token is %d bytes long; at most %d are allowed", len(token), MaxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("application token has %d dot-separated parts; want 3 (nonce.timestamp.signature)", len(parts))
	}
	nonce, timestamp, signature := parts[0], parts[1], parts[2]
	if nonce != wantNonce {
		return errors.New("application token nonce differs from the nonce sent")
	}
	signedAt, err := time.Parse(applicationTimeLayout, timestamp)
	if err != nil || len(timestamp) != len(applicationTimeLayout) {
		return fmt.Errorf("application token timestamp %.20q is not UTC yyyyMMddHHmm", timestamp)
	}
	if off := now.Sub(signedAt); off > window || off < -window {
		return fmt.Errorf("application token timestamp %s is %s from now (%s); at most %s is allowed",
			timestamp, off.Abs().Round(time.Second), now.UTC().Format(applicationTimeLayout), window)
	}
	raw, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return errors.New("application token signature is not standard base64")
	}
	digest := sha256.Sum256([]byte(nonce + "." + timestamp))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw); err != nil {
		return errors.New("application token signature does not verify with the partner's public key")
	}
	return nil
}
