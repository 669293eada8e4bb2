package mssql

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microsoft/go-mssqldb/azuread"
)

// Logins with Microsoft Entra ID (Azure AD) go through go-mssqldb's azuread package when the DSN
// names a method in its fedauth parameter, e.g.
//
//	sqlserver://myserver.database.windows.net?database=master&fedauth=ActiveDirectoryManagedIdentity
//	sqlserver://<client-id>%40<tenant-id>:<secret>@myserver.database.windows.net?database=master&fedauth=ActiveDirectoryServicePrincipal
//	sqlserver://myserver.database.windows.net?database=master&fedauth=ActiveDirectoryDefault
//
// azuread.NewConnector returns the same *mssqldb.Connector as mssqldb.NewConnector, with a token
// provider that asks Entra for a token at each login (azuread's newConnectorConfig); without
// fedauth it builds the same connector as mssqldb does.

// fedAuthMethods are azuread's method names as its token switch spells them.
var fedAuthMethods = []string{
	azuread.ActiveDirectoryDefault, azuread.ActiveDirectoryIntegrated, azuread.ActiveDirectoryPassword,
	azuread.ActiveDirectoryInteractive, azuread.ActiveDirectoryMSI, azuread.ActiveDirectoryManagedIdentity,
	azuread.ActiveDirectoryApplication, azuread.ActiveDirectoryServicePrincipal,
	azuread.ActiveDirectoryServicePrincipalAccessToken, azuread.ActiveDirectoryDeviceCode, azuread.ActiveDirectoryAzCli,
	azuread.ActiveDirectoryAzureDeveloperCli, azuread.ActiveDirectoryAzurePipelines, azuread.ActiveDirectoryEnvironment,
	azuread.ActiveDirectoryWorkloadIdentity, azuread.ActiveDirectoryClientAssertion, azuread.ActiveDirectoryOnBehalfOf,
}

// canonicalFedAuth spells a method name as azuread's constants do. azuread accepts the name
// without case when it checks the DSN ((*azureFedAuthConfig).validateParameters,
// strings.EqualFold) but keeps it as written, and picks the credential by an exact switch
// ((*azureFedAuthConfig).provideActiveDirectoryToken): "activedirectoryserviceprincipal" passes
// the check, misses every case and falls to DefaultAzureCredential, ignoring the secret it was
// given. A name it does not know is left as it is, for azuread to refuse.
func canonicalFedAuth(method string) string {
	for _, m := range fedAuthMethods {
		if strings.EqualFold(m, method) {
			return m
		}
	}
	return method
}

// hasFedAuth reports whether the DSN's query names an Entra ID method.
func hasFedAuth(q url.Values) bool { return queryValue(q, "fedauth") != "" }

// secretKeys are the DSN query parameters that hold secrets: a password (of a login, a service
// principal or its certificate), and the assertions and tokens of the Entra ID methods.
var secretKeys = []string{"password", "pwd", "clientassertion", "userassertion", "systemtoken"}

// secretPairRE finds key=value pairs of secretKeys in a DSN that is not a URL (ADO or ODBC style,
// "server=…;password=…").
var secretPairRE = regexp.MustCompile(`(?i)\b(` + strings.Join(secretKeys, "|") + `)\s*=\s*(\{[^}]*\}|[^;&]*)`)

// RedactDSN returns dsn with its secrets replaced by "xxxxx", for logs and messages: the
// password of a sqlserver:// URL's user, and the query parameters that hold secrets (password,
// pwd, clientassertion, userassertion, systemtoken), whatever their case. A DSN that is not a URL
// has the same keys redacted in its key=value pairs; a URL that does not parse loses its whole
// user part.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		// Not a URL, or a URL that does not parse (a '%' not followed by hex in the
		// password): whatever stands before the host's '@' goes too.
		if i := strings.Index(dsn, "://"); i >= 0 {
			rest := dsn[i+3:]
			end := len(rest)
			if j := strings.IndexAny(rest, "/?"); j >= 0 {
				end = j
			}
			if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
				dsn = dsn[:i+3] + "xxxxx" + rest[at:]
			}
		}
		return secretPairRE.ReplaceAllString(dsn, "${1}=xxxxx")
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		for _, s := range secretKeys {
			if strings.EqualFold(k, s) {
				q[k] = []string{"xxxxx"}
				changed = true
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
