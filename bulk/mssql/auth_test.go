package mssql

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalFedAuth(t *testing.T) {
	cases := map[string]string{
		"activedirectoryserviceprincipal": "ActiveDirectoryServicePrincipal",
		"ACTIVEDIRECTORYMSI":              "ActiveDirectoryMSI",
		"ActiveDirectoryManagedIdentity":  "ActiveDirectoryManagedIdentity",
		"activeDirectoryDefault":          "ActiveDirectoryDefault",
		"NoSuchMethod":                    "NoSuchMethod",
	}
	for in, want := range cases {
		if got := canonicalFedAuth(in); got != want {
			t.Errorf("canonicalFedAuth(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasFedAuth(t *testing.T) {
	cases := map[string]bool{
		"sqlserver://h?database=master":                                    false,
		"sqlserver://h?fedauth=ActiveDirectoryDefault":                     true,
		"sqlserver://h?FedAuth=ActiveDirectoryMSI":                         true,
		"sqlserver://h?fedauth=":                                           false,
		"sqlserver://u:p@h?database=master&FEDAUTH=activedirectorydefault": true,
	}
	for dsn, want := range cases {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if got := hasFedAuth(u.Query()); got != want {
			t.Errorf("hasFedAuth(%s) = %t, want %t", dsn, got, want)
		}
	}
}

// TestTenantDSNFedAuth: the method reaches azuread in the spelling its token switch knows.
func TestTenantDSNFedAuth(t *testing.T) {
	base, err := parseDSN("sqlserver://app%40tenant:secret@h.database.windows.net?database=master&FEDAUTH=activedirectoryserviceprincipal")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(tenantDSN(base, "Mirror_Cust1"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q["fedauth"]) != 1 || q.Get("fedauth") != "ActiveDirectoryServicePrincipal" || len(q["FEDAUTH"]) != 0 {
		t.Errorf("tenantDSN query %s", u.RawQuery)
	}
}

// TestOpenDBFedAuth: azuread checks each method's parameters when the connector is made, and
// contacts Entra only at a login, so these run with no network.
func TestOpenDBFedAuth(t *testing.T) {
	cases := []struct {
		dsn     string
		wantErr string
	}{
		{"sqlserver://h.database.windows.net?database=master&fedauth=ActiveDirectoryManagedIdentity", ""},
		{"sqlserver://client-id@h.database.windows.net?database=master&fedauth=activedirectorymsi", ""},
		{"sqlserver://h.database.windows.net?database=master&fedauth=ActiveDirectoryDefault", ""},
		{"sqlserver://app%40tenant:secret@h.database.windows.net?database=master&fedauth=activedirectoryserviceprincipal", ""},
		{"sqlserver://app%40tenant@h.database.windows.net?database=master&fedauth=ActiveDirectoryServicePrincipal", "password"},
		{"sqlserver://h.database.windows.net?database=master&fedauth=NoSuchMethod", "NoSuchMethod"},
		{"sqlserver://sa:pw@h?database=master", ""},
	}
	for _, c := range cases {
		base, err := parseDSN(c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		db, err := openDB(base, "Mirror_Cust1")
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", RedactDSN(c.dsn), err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want one naming %q", RedactDSN(c.dsn), err, c.wantErr)
		}
		if err == nil {
			db.Close()
		}
	}
}

func TestRedactDSN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"sqlserver://sa:Passw0rd!@127.0.0.1:1433?database=master", "sqlserver://sa:xxxxx@127.0.0.1:1433?database=master"},
		{"sqlserver://sa@h?database=master", "sqlserver://sa@h?database=master"},
		{"sqlserver://h?database=master&fedauth=ActiveDirectoryServicePrincipal&user+id=app&Password=s3cret", "sqlserver://h?Password=xxxxx&database=master&fedauth=ActiveDirectoryServicePrincipal&user+id=app"},
		{"sqlserver://app:sec@h?fedauth=ActiveDirectoryClientAssertion&clientassertion=eyJ.x.y", "sqlserver://app:xxxxx@h?clientassertion=xxxxx&fedauth=ActiveDirectoryClientAssertion"},
		{"sqlserver://h?fedauth=ActiveDirectoryOnBehalfOf&UserAssertion=abc&pwd=p", "sqlserver://h?UserAssertion=xxxxx&fedauth=ActiveDirectoryOnBehalfOf&pwd=xxxxx"},
		{"sqlserver://h?fedauth=ActiveDirectoryAzurePipelines&systemtoken=t0ken123", "sqlserver://h?fedauth=ActiveDirectoryAzurePipelines&systemtoken=xxxxx"},
		{"server=h;user id=sa;Password=p@ss;database=master", "server=h;user id=sa;Password=xxxxx;database=master"},
		{"odbc:server=h;pwd={a;b};database=x", "odbc:server=h;pwd=xxxxx;database=x"},
		{"sqlserver://sa:p%zz@h?database=master", "sqlserver://xxxxx@h?database=master"},
		{"postgres://u:p@h/db", "postgres://u:xxxxx@h/db"},
	}
	for _, c := range cases {
		got := RedactDSN(c.in)
		if got != c.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, secret := range []string{"Passw0rd", "s3cret", "eyJ", "sec@", "t0ken123", "p@ss", "a;b", "p%zz"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactDSN(%q) = %q keeps %q", c.in, got, secret)
			}
		}
	}
}
