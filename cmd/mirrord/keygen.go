package main

import (
	"flag"
	"fmt"

	"github.com/mirrord/mirrord/soapfront/auth"
)

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	dir := fs.String("dir", "keys", "folder to write the keys into")
	bits := fs.Int("bits", 2048, "RSA key size")
	overwrite := fs.Bool("overwrite", false, "replace existing key files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files, err := auth.GenerateKeys(*dir, auth.KeygenOptions{Bits: *bits, Overwrite: *overwrite})
	if err != nil {
		return err
	}
	fmt.Printf(`partner private key (RSA XML):  %s
partner private key (PEM):      %s
partner public key (PEM):       %s
partner public key (RSA XML):   %s
test SuperOffice certificate:   %s
its private key:                %s

Serve with:
  mirrord serve --app-id <app id> --partner-key %s --superoffice-cert %s
`, files.PartnerXML, files.PartnerKey, files.PartnerPublicPEM, files.PartnerPublicXML,
		files.SuperOfficeCert, files.SuperOfficeKey, files.PartnerKey, files.SuperOfficeCert)
	return nil
}
