package auth

import (
	"crypto/x509"
	"embed"
	"fmt"
	"slices"
	"strings"
)

// The public token-signing certificates SuperOffice publishes for its three environments, built
// into the binary so that a partner's set-up needs no certificate file. They hold public keys
// only; --superoffice-cert adds others, for a rotation.
//
//go:embed superoffice/*.crt
var superofficeCerts embed.FS

// Environments are the names --environment takes, each with its certificate file. "sod" is
// SuperOffice's name for its development environment.
var Environments = map[string]string{
	"sod":         "superoffice/SuperOfficeFederatedLogin.development.crt",
	"development": "superoffice/SuperOfficeFederatedLogin.development.crt",
	"stage":       "superoffice/SuperOfficeFederatedLogin.stage.crt",
	"production":  "superoffice/SuperOfficeFederatedLogin.production.crt",
}

// EnvironmentCertificates returns the built-in certificate of a SuperOffice environment.
func EnvironmentCertificates(env string) ([]*x509.Certificate, error) {
	file, ok := Environments[strings.ToLower(strings.TrimSpace(env))]
	if !ok {
		names := make([]string, 0, len(Environments))
		for name := range Environments {
			names = append(names, name)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("auth: environment %q is not one of %s", env, strings.Join(names, ", "))
	}
	data, err := superofficeCerts.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("auth: built-in certificate of %s: %w", env, err)
	}
	return ParseCertificates(data)
}
