package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mirrord/mirrord/schema"
)

// The fixed parts of a SuperOffice token.
const (
	// Issuer is the only iss a token may carry.
	Issuer = "SuperOffice AS"
	// ContextClaim holds the tenant's context identifier; it must equal sub.
	ContextClaim = "http://schemes.superoffice.net/identity/ctx"
	// MaxTokenBytes bounds a token: real ones are about 1 KiB, and a bound keeps a hostile
	// header from costing base64 and JSON work.
	MaxTokenBytes = 16 << 10
	// DefaultSkew is the clock difference tolerated on nbf and exp when Verifier.Skew is zero.
	DefaultSkew = 2 * time.Minute
	// maxNonceLength is generous: SuperOffice sends 32 hex characters.
	maxNonceLength = 256
)

// ErrInvalidToken is wrapped by every error Verify returns because of the token itself (the
// caller's mistake). Other errors from Verify mean the Verifier is not configured.
var ErrInvalidToken = errors.New("invalid token")

// tokenError is a refusal of a token. Its text names the failed check and never quotes the token.
type tokenError string

func (e tokenError) Error() string { return string(e) }

func (e tokenError) Is(target error) bool { return target == ErrInvalidToken }

func invalid(format string, args ...any) error { return tokenError(fmt.Sprintf(format, args...)) }

// Claims is what a verified token says.
type Claims struct {
	Tenant    string // the context identifier, e.g. Cust12020; already checked as a name
	Subject   string // equal to Tenant
	Nonce     string
	Issuer    string
	Audience  []string
	IssuedAt  time.Time // zero when the token has no iat
	NotBefore time.Time
	Expiry    time.Time
	// Certificate is the x5t thumbprint of the certificate whose key verified the signature.
	Certificate string
}

// Verifier checks SuperOffice's tokens for one partner application. Set AppID (and optionally
// Skew and Now), load the certificates, then call Verify from any number of goroutines.
// LoadCertificates may be called again at any time to replace the set (certificate rotation).
type Verifier struct {
	// AppID is the partner application's id; a token's aud must be "spn:<AppID>".
	AppID string
	// Skew is the clock difference tolerated on nbf and exp: 0 means DefaultSkew, negative none.
	Skew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	certs atomic.Pointer[[]*certificate]
}

// skew returns the effective tolerance.
func (v *Verifier) skew() time.Duration {
	switch {
	case v.Skew == 0:
		return DefaultSkew
	case v.Skew < 0:
		return 0
	}
	return v.Skew
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// jwtHeader is the part of a JOSE header the verifier reads. Fields are taken by exact key, as
// the JWT library does, rather than by encoding/json's case-insensitive struct matching.
type jwtHeader struct {
	alg, x5t, kid string
	hasCrit       bool
}

// wireClaims is the payload as the JWT library decodes it.
type wireClaims struct {
	jwt.RegisteredClaims
	Context string `json:"http://schemes.superoffice.net/identity/ctx"`
	Nonce   string `json:"nonce"`
}

// Verify checks one token and returns its claims. Each call stands alone: signature (RS256 by a
// loaded certificate), issuer, audience, lifetime, tenant and nonce.
func (v *Verifier) Verify(token string) (Claims, error) {
	if v.AppID == "" {
		return Claims{}, errors.New("auth: verifier has no AppID")
	}
	loaded := v.certs.Load()
	if loaded == nil || len(*loaded) == 0 {
		return Claims{}, errors.New("auth: verifier has no SuperOffice certificates loaded")
	}

	token = strings.TrimSpace(token)
	if len(token) > MaxTokenBytes {
		return Claims{}, invalid("token is %d bytes long; at most %d are allowed", len(token), MaxTokenBytes)
	}
	if token == "" {
		return Claims{}, invalid("token is empty")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, invalid("token has %d dot-separated parts; a JWT has 3 (header.payload.signature)", len(parts))
	}
	header, err := parseHeader(parts[0])
	if err != nil {
		return Claims{}, err
	}
	if header.alg != "RS256" {
		return Claims{}, invalid("token algorithm %.20q is not allowed; want RS256", header.alg)
	}
	if header.hasCrit {
		return Claims{}, invalid("token header has crit extensions, which are not supported")
	}
	// Decoding here too gives a malformed payload its own message before any RSA work.
	var decoded wireClaims
	if err := decodeJSONSegment("payload", parts[1], &decoded); err != nil {
		return Claims{}, err
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(parts[2]); err != nil {
		return Claims{}, invalid("token signature is not unpadded base64url")
	}
	candidates, err := chooseCertificates(*loaded, header)
	if err != nil {
		return Claims{}, err
	}

	now := v.now()
	skew := v.skew()
	audience := "spn:" + v.AppID
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithLeeway(skew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var (
		claims   wireClaims
		verified *certificate
		parseErr error
	)
	for _, c := range candidates {
		claims = wireClaims{}
		key := c.key
		_, parseErr = parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil })
		if parseErr == nil || errors.Is(parseErr, jwt.ErrTokenInvalidClaims) {
			verified = c // the library checks claims only after the signature verified
			break
		}
		if !errors.Is(parseErr, jwt.ErrTokenSignatureInvalid) {
			// The pre-checks above accept only what the library decodes, so this is a
			// disagreement between the two; the library's texts do not quote the token.
			return Claims{}, invalid("token refused: %v", parseErr)
		}
	}
	if verified == nil {
		if len(candidates) == 1 {
			return Claims{}, invalid("token signature does not verify with certificate x5t %s", candidates[0].x5t)
		}
		return Claims{}, invalid("token signature does not verify with any of the %d loaded certificates", len(candidates))
	}
	out, err := checkClaims(&claims, now, skew, audience)
	if err != nil {
		return Claims{}, err
	}
	if parseErr != nil {
		return Claims{}, invalid("token claims refused: %v", parseErr)
	}
	out.Certificate = verified.x5t
	return out, nil
}

// parseHeader decodes the JOSE header with exact key matching.
func parseHeader(segment string) (jwtHeader, error) {
	var fields map[string]json.RawMessage
	if err := decodeJSONSegment("header", segment, &fields); err != nil {
		return jwtHeader{}, err
	}
	var h jwtHeader
	for _, f := range []struct {
		name string
		to   *string
	}{{"alg", &h.alg}, {"x5t", &h.x5t}, {"kid", &h.kid}} {
		raw, ok := fields[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.to); err != nil {
			return jwtHeader{}, invalid("token header field %s is not a string", f.name)
		}
	}
	if h.alg == "" {
		return jwtHeader{}, invalid("token header has no alg")
	}
	_, h.hasCrit = fields["crit"]
	return h, nil
}

// decodeJSONSegment decodes one base64url JSON part of a token. Errors name the part and, for a
// type mismatch, the field, but never echo the content.
func decodeJSONSegment(part, segment string, into any) error {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return invalid("token %s is not unpadded base64url", part)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return invalid("token %s field %.80q has the wrong JSON type", part, typeErr.Field)
		}
		return invalid("token %s is not a valid JSON object", part)
	}
	return nil
}

// checkClaims applies every claim check in a fixed order so that the first failure is the one
// reported, with the values that made it fail.
func checkClaims(c *wireClaims, now time.Time, skew time.Duration, audience string) (Claims, error) {
	if c.ExpiresAt == nil {
		return Claims{}, invalid("token has no exp (expiry) claim")
	}
	if c.NotBefore == nil {
		return Claims{}, invalid("token has no nbf (not before) claim")
	}
	exp, nbf := c.ExpiresAt.UTC(), c.NotBefore.UTC()
	if !now.Before(exp.Add(skew)) {
		return Claims{}, invalid("token expired at %s (now %s, skew %s)", stamp(exp), stamp(now), skew)
	}
	if now.Add(skew).Before(nbf) {
		return Claims{}, invalid("token is not valid before %s (now %s, skew %s)", stamp(nbf), stamp(now), skew)
	}
	if c.Issuer == "" {
		return Claims{}, invalid("token has no iss (issuer) claim")
	}
	if c.Issuer != Issuer {
		return Claims{}, invalid("issuer is %.64q, want %q", c.Issuer, Issuer)
	}
	if len(c.Audience) == 0 {
		return Claims{}, invalid("token has no aud (audience) claim")
	}
	if !containsString(c.Audience, audience) {
		return Claims{}, invalid("audience is %s, want %q", quoteList(c.Audience), audience)
	}
	if c.Subject == "" {
		return Claims{}, invalid("token has no sub (subject) claim")
	}
	if c.Context == "" {
		return Claims{}, invalid("token has no %s claim", ContextClaim)
	}
	if err := schema.CheckName("tenant", c.Context); err != nil {
		return Claims{}, invalid("token context claim: %v", err)
	}
	if c.Context != c.Subject {
		return Claims{}, invalid("token context %.64q differs from sub %.64q", c.Context, c.Subject)
	}
	if c.Nonce == "" {
		return Claims{}, invalid("token has no nonce claim")
	}
	if err := checkNonce(c.Nonce); err != nil {
		return Claims{}, invalid("token %v", err)
	}
	out := Claims{
		Tenant:    c.Context,
		Subject:   c.Subject,
		Nonce:     c.Nonce,
		Issuer:    c.Issuer,
		Audience:  append([]string(nil), c.Audience...),
		NotBefore: nbf,
		Expiry:    exp,
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.UTC()
	}
	return out, nil
}

// checkNonce keeps the nonce safe to echo in the application token, where dots separate fields.
func checkNonce(nonce string) error {
	if nonce == "" {
		return errors.New("nonce is empty")
	}
	if len(nonce) > maxNonceLength {
		return fmt.Errorf("nonce is %d characters long; at most %d are allowed", len(nonce), maxNonceLength)
	}
	for i := 0; i < len(nonce); i++ {
		if c := nonce[i]; c <= ' ' || c > '~' || c == '.' {
			return fmt.Errorf("nonce has %q at position %d; only printable ASCII without dots is allowed", nonce[i:i+1], i+1)
		}
	}
	return nil
}

func containsString(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

// quoteList renders at most three audiences, each cut short, so that a hostile token cannot
// make the error long.
func quoteList(list []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range list {
		if i == 3 {
			fmt.Fprintf(&b, ", … %d more", len(list)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.64q", s)
	}
	b.WriteByte(']')
	return b.String()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
