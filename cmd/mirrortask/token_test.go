package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/soapfront/auth"
)

func TestTokenVerifies(t *testing.T) {
	dir := t.TempDir()
	k, err := auth.GenerateKeys(dir, auth.KeygenOptions{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), "token", []string{"--app-id", "demo", "--tenant", "Cust7",
		"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey}, &out)
	if err != nil {
		t.Fatal(err)
	}
	v := &auth.Verifier{AppID: "demo"}
	if err := v.LoadCertificates(k.SuperOfficeCert); err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil || claims.Tenant != "Cust7" {
		t.Fatalf("the printed token does not verify: %+v, %v", claims, err)
	}
	if err := run(context.Background(), "token", []string{"--app-id", "demo"}, &out); err == nil {
		t.Fatal("token without a certificate and key was accepted")
	}
}
