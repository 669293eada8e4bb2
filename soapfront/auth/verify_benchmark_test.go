package auth

import (
	"testing"
	"time"
)

// BenchmarkVerify measures one token check, the cost every SOAP call pays before its body is read.
func BenchmarkVerify(b *testing.B) {
	is := testIssuers()
	v := &Verifier{AppID: testAppID, Now: func() time.Time { return testNow }}
	if err := v.SetCertificates(is[0].cert, is[1].cert); err != nil {
		b.Fatal(err)
	}
	token, err := IssueToken(is[1].key, is[1].cert, IssueClaims{AppID: testAppID, Tenant: "Cust12020", Now: testNow})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}
