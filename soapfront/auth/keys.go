package auth

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// minKeyBits is the smallest RSA key Go's crypto/rsa will sign or verify with.
const minKeyBits = 1024

// rsaKeyValue is .NET's RSA.ToXmlString layout: every field big-endian, standard base64.
type rsaKeyValue struct {
	XMLName  xml.Name `xml:"RSAKeyValue"`
	Modulus  string   `xml:"Modulus"`
	Exponent string   `xml:"Exponent"`
	P        string   `xml:"P,omitempty"`
	Q        string   `xml:"Q,omitempty"`
	DP       string   `xml:"DP,omitempty"`
	DQ       string   `xml:"DQ,omitempty"`
	InverseQ string   `xml:"InverseQ,omitempty"`
	D        string   `xml:"D,omitempty"`
}

// LoadPartnerKey reads the partner application's private key: SuperOffice's .NET RSA XML
// (<RSAKeyValue> with all private fields) or PEM ("RSA PRIVATE KEY" or "PRIVATE KEY"). Any RSA
// private key file in those forms loads, e.g. the test SuperOffice key GenerateKeys writes.
func LoadPartnerKey(path string) (*rsa.PrivateKey, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePartnerKey(data)
	if err != nil {
		return nil, fmt.Errorf("auth: partner key %s: %w", path, err)
	}
	return key, nil
}

// ParsePartnerKey parses a private key in the forms LoadPartnerKey reads.
func ParsePartnerKey(data []byte) (*rsa.PrivateKey, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
	switch {
	case bytes.HasPrefix(data, []byte("<")):
		return ParseRSAXMLPrivateKey(data)
	case bytes.Contains(data, []byte("-----BEGIN")):
		return parsePEMPrivateKey(data)
	}
	return nil, errors.New("neither RSA XML (<RSAKeyValue>) nor PEM")
}

// LoadPartnerPublicKey reads the partner's public key, in the forms ParsePartnerPublicKey takes.
func LoadPartnerPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePartnerPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("auth: partner public key %s: %w", path, err)
	}
	return key, nil
}

// ParsePartnerPublicKey parses the partner's public key as the sending side holds it: RSA XML
// with Modulus and Exponent (private fields, if present, are ignored), or PEM "PUBLIC KEY",
// "RSA PUBLIC KEY" or "CERTIFICATE".
func ParsePartnerPublicKey(data []byte) (*rsa.PublicKey, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
	if bytes.HasPrefix(data, []byte("<")) {
		return ParseRSAXMLPublicKey(data)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("neither RSA XML (<RSAKeyValue>) nor PEM")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block is %q, want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("PEM %s: %w", block.Type, err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("PEM %s holds a %T key, want RSA", block.Type, key)
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func parsePEMPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block could be decoded")
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM RSA PRIVATE KEY: %w", err)
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM PRIVATE KEY: %w", err)
		}
		rsaKey, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM PRIVATE KEY holds a %T key, want RSA", k)
		}
		key = rsaKey
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("PEM key is encrypted; store it decrypted (openssl pkey -in key -out plain.key)")
	default:
		return nil, fmt.Errorf("PEM block is %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if err := checkPublicKey(&key.PublicKey); err != nil {
		return nil, err
	}
	return key, nil
}

// ParseRSAXMLPrivateKey parses .NET's <RSAKeyValue> with every private field. The CRT fields
// (DP, DQ, InverseQ) must agree with D, P and Q: a key pasted together from two keys is refused
// rather than signing with values SuperOffice would not accept.
func ParseRSAXMLPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	var kv rsaKeyValue
	if err := decodeRSAXML(data, &kv); err != nil {
		return nil, err
	}
	pub, err := kv.publicKey()
	if err != nil {
		return nil, err
	}
	var p, q, dp, dq, qinv, d *big.Int
	for _, f := range []xmlField{
		{"P", kv.P, &p}, {"Q", kv.Q, &q}, {"DP", kv.DP, &dp},
		{"DQ", kv.DQ, &dq}, {"InverseQ", kv.InverseQ, &qinv}, {"D", kv.D, &d},
	} {
		if *f.into, err = xmlInteger(f.name, f.text); err != nil {
			return nil, err
		}
	}
	key := &rsa.PrivateKey{
		PublicKey: *pub,
		D:         d,
		Primes:    []*big.Int{p, q},
		Precomputed: rsa.PrecomputedValues{
			Dp:   dp,
			Dq:   dq,
			Qinv: qinv,
		},
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("RSA XML key is not a consistent RSA key: %w", err)
	}
	key.Precompute()
	return key, nil
}

// xmlField is one base64 integer field of <RSAKeyValue> and where its value goes.
type xmlField struct {
	name, text string
	into       **big.Int
}

// ParseRSAXMLPublicKey parses .NET's <RSAKeyValue>, reading only Modulus and Exponent.
func ParseRSAXMLPublicKey(data []byte) (*rsa.PublicKey, error) {
	var kv rsaKeyValue
	if err := decodeRSAXML(data, &kv); err != nil {
		return nil, err
	}
	return kv.publicKey()
}

func decodeRSAXML(data []byte, kv *rsaKeyValue) error {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if err := xml.Unmarshal(data, kv); err != nil {
		return fmt.Errorf("RSA XML: %w", err)
	}
	return nil
}

func (kv *rsaKeyValue) publicKey() (*rsa.PublicKey, error) {
	n, err := xmlInteger("Modulus", kv.Modulus)
	if err != nil {
		return nil, err
	}
	e, err := xmlInteger("Exponent", kv.Exponent)
	if err != nil {
		return nil, err
	}
	if e.BitLen() > 31 {
		return nil, fmt.Errorf("RSA XML <Exponent> is %d bits; at most 31 are supported", e.BitLen())
	}
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// xmlInteger decodes one base64 field. Whitespace inside is dropped: hand-edited files wrap it.
func xmlInteger(name, text string) (*big.Int, error) {
	text = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, text)
	if text == "" {
		return nil, fmt.Errorf("RSA XML has no <%s>", name)
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("RSA XML <%s> is not base64: %w", name, err)
	}
	v := new(big.Int).SetBytes(raw)
	if v.Sign() == 0 {
		return nil, fmt.Errorf("RSA XML <%s> is zero", name)
	}
	return v, nil
}

func checkPublicKey(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < minKeyBits {
		return fmt.Errorf("RSA modulus is %d bits; at least %d are needed", bits, minKeyBits)
	}
	if pub.E < 3 || pub.E%2 == 0 {
		return fmt.Errorf("RSA exponent %d is not an odd number of at least 3", pub.E)
	}
	return nil
}

// MarshalRSAXMLPrivateKey writes a key as .NET's RSA.ToXmlString(true) does: one line, each
// private field zero-padded to the length .NET's ImportParameters requires (D to the modulus
// length, the others to half of it).
func MarshalRSAXMLPrivateKey(key *rsa.PrivateKey) ([]byte, error) {
	if len(key.Primes) != 2 {
		return nil, fmt.Errorf("RSA XML holds two-prime keys; this key has %d primes", len(key.Primes))
	}
	key.Precompute()
	if key.Precomputed.Dp == nil {
		return nil, errors.New("RSA key is not consistent; cannot derive its CRT values")
	}
	size := (key.N.BitLen() + 7) / 8
	half := (size + 1) / 2
	var fail error
	b64 := func(name string, v *big.Int, length int) string {
		if v.BitLen() > 8*length {
			fail = fmt.Errorf("RSA key's %s is longer than .NET's layout allows (%d bytes); the primes are unbalanced", name, length)
			return ""
		}
		return base64.StdEncoding.EncodeToString(v.FillBytes(make([]byte, length)))
	}
	kv := rsaKeyValue{
		Modulus:  b64("Modulus", key.N, size),
		Exponent: base64.StdEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		P:        b64("P", key.Primes[0], half),
		Q:        b64("Q", key.Primes[1], half),
		DP:       b64("DP", key.Precomputed.Dp, half),
		DQ:       b64("DQ", key.Precomputed.Dq, half),
		InverseQ: b64("InverseQ", key.Precomputed.Qinv, half),
		D:        b64("D", key.D, size),
	}
	if fail != nil {
		return nil, fail
	}
	return xml.Marshal(kv)
}

// MarshalRSAXMLPublicKey writes a public key as .NET's RSA.ToXmlString(false) does.
func MarshalRSAXMLPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	kv := rsaKeyValue{
		Modulus:  base64.StdEncoding.EncodeToString(pub.N.Bytes()),
		Exponent: base64.StdEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
	return xml.Marshal(kv)
}
