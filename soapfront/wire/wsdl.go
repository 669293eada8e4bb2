package wire

import (
	"bytes"
	_ "embed"
)

//go:embed mirroring.wsdl
var wsdlTemplate []byte

// addressPlaceholder is the soap:address location in mirroring.wsdl that WSDL fills in.
const addressPlaceholder = `location="SERVICE_ADDRESS"`

// WSDL returns the contract's WSDL with the service's address (e.g.
// https://mirror.example.com/mirroring) as the endpoint location.
func WSDL(address string) []byte {
	loc := appendEscaped([]byte(`location="`), address, true)
	loc = append(loc, '"')
	return bytes.Replace(wsdlTemplate, []byte(addressPlaceholder), loc, 1)
}
