package mssql

import (
	"net/url"
	"strings"
	"testing"
)

func TestDecideDatabase(t *testing.T) {
	cases := []struct {
		found bool
		state string
		login login
		want  dbAction
	}{
		{true, "ONLINE", loginNotTried, dbUse},
		{true, "RESTORING", loginNotTried, dbWait},
		{true, "RECOVERING", loginNotTried, dbWait},
		{true, "RECOVERY_PENDING", loginNotTried, dbWait},
		{true, "SUSPECT", loginNotTried, dbWait},
		{true, "EMERGENCY", loginNotTried, dbWait},
		{true, "OFFLINE", loginNotTried, dbWait},
		{true, "COPYING", loginNotTried, dbWait},
		{true, "OFFLINE_SECONDARY", loginNotTried, dbWait},
		// No row: a partner's database on Azure, where a db_owner login sees no row for it.
		{false, "", loginOK, dbUse},
		// A paused serverless database answers 40613 while it resumes: it is there.
		{false, "", loginUnavailable, dbWait},
		{false, "", loginFailed, dbCreate},
	}
	for _, c := range cases {
		if got := decideDatabase(c.found, c.state, c.login); got != c.want {
			t.Errorf("decideDatabase(row %t, %q, login %d) = %v, want %v", c.found, c.state, c.login, got, c.want)
		}
	}
}

// TestCreateOptions holds the grammar to the cases that a list of allowed characters gets
// wrong: statements after the options, AS COPY OF.
func TestCreateOptions(t *testing.T) {
	good := []string{
		"",
		"   ",
		"(EDITION = 'GeneralPurpose', SERVICE_OBJECTIVE = 'GP_S_Gen5_2')",
		"( SERVICE_OBJECTIVE = ELASTIC_POOL ( name = mirrors ) )",
		"(SERVICE_OBJECTIVE = ELASTIC_POOL(name = [mirror-pool-1]))",
		"(service_objective = elastic_pool(name = [pool--1]))", // "--" inside a name is no comment
		"COLLATE Latin1_General_100_CI_AS_SC_UTF8 (EDITION = 'Basic', MAXSIZE = 2 GB)",
		"COLLATE Latin1_General_100_CI_AS_SC_UTF8",
		"collate Polish_100_CI_AS",
		"(EDITION = 'Hyperscale', BACKUP_STORAGE_REDUNDANCY = 'Local') WITH CATALOG_COLLATION = DATABASE_DEFAULT",
		"(MAXSIZE = 500 MB)",
		"WITH CATALOG_COLLATION = SQL_Latin1_General_CP1_CI_AS",
	}
	bad := []string{
		"AS COPY OF other_db",
		"(EDITION = 'Basic') DROP DATABASE x",
		"(EDITION = 'Basic'); DROP DATABASE x",
		"(EDITION = 'Basic') -- c",
		"(EDITION = 'Basic') /* x */",
		"(EDITION = 'Ba''sic')",
		"(EDITION = 'Basic')\nGO\nDROP DATABASE x",
		"COLLATE Latin1_General_100_CI_AS COLLATE x",
		"()",
		"(EDITION = Basic)",
		"(MAXSIZE = 2 PB)",
		"(SERVICE_OBJECTIVE = ELASTIC_POOL(name = [a]]b]))",
		"(EDITION = 'Basic') WITH CATALOG_COLLATION = Latin1_General_CI_AS",
		"FOR ATTACH",
		"CONTAINMENT = PARTIAL",
		"ON PRIMARY (NAME = x, FILENAME = 'c:\\x.mdf')",
	}
	for _, g := range good {
		if err := checkCreateOptions(g); err != nil {
			t.Errorf("refused %q: %v", g, err)
		}
	}
	for _, b := range bad {
		if checkCreateOptions(b) == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

// TestTenantDSNKeysWithoutCase: a DSN that spells its keys otherwise keeps one of each, as msdsn
// requires (it reads keys without case and refuses one given twice).
func TestTenantDSNKeysWithoutCase(t *testing.T) {
	base, err := parseDSN("sqlserver://sa:pw@db.example?Database=master&Packet+Size=4096&GUID+Conversion=true&Encrypt=true")
	if err != nil {
		t.Fatal(err)
	}
	if got := queryValue(base.Query(), "database"); got != "master" {
		t.Errorf("queryValue(database) = %q", got)
	}
	u, err := url.Parse(tenantDSN(base, "Mirror_Cust1"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for k := range u.Query() {
		counts[strings.ToLower(k)]++
	}
	for _, k := range []string{"database", "packet size", "guid conversion", "encrypt"} {
		if counts[k] != 1 {
			t.Errorf("key %q appears %d times in %s", k, counts[k], u.RawQuery)
		}
	}
	q := u.Query()
	if q.Get("database") != "Mirror_Cust1" || q.Get("packet size") != packetSize || q.Get("guid conversion") != "false" || q.Get("Encrypt") != "true" {
		t.Errorf("tenantDSN query %s", u.RawQuery)
	}
}
