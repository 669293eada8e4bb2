package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// Namespace is the namespace of the mirroring contract: its header, requests and responses.
const Namespace = "http://www.superoffice.com/online/mirroring/0.1"

// ActionPrefix starts every SOAPAction of the contract; the operation name follows it.
const ActionPrefix = Namespace + "/IMirroringClientService/"

// SOAP 1.1 and neighbouring namespaces the codec reads or writes.
const (
	soapNS   = "http://schemas.xmlsoap.org/soap/envelope/"
	soap12NS = "http://www.w3.org/2003/05/soap-envelope"
	xsiNS    = "http://www.w3.org/2001/XMLSchema-instance"
	xmlNS    = "http://www.w3.org/XML/1998/namespace"
)

// The five operations, as the SOAPAction and the body's <Operation>Request element name them.
const (
	OpAuthenticate         = "Authenticate"
	OpTableSchema          = "TableSchema"
	OpRowData              = "RowData"
	OpWipe                 = "Wipe"
	OpReplicationCompleted = "ReplicationCompleted"
)

// Operations lists the operations of the contract in cycle order.
var Operations = []string{OpAuthenticate, OpTableSchema, OpWipe, OpRowData, OpReplicationCompleted}

// Fault codes of SOAP 1.1, with the prefix the fault envelope binds to the SOAP namespace.
const (
	FaultClient = "s:Client"
	FaultServer = "s:Server"
)

// Action is the SOAPAction of an operation.
func Action(operation string) string { return ActionPrefix + operation }

// ActionOperation returns the operation a SOAPAction header names, quoted or not. ok is false
// for an action outside the contract; an empty action gives "", true: the body decides.
func ActionOperation(action string) (operation string, ok bool) {
	action = strings.TrimSpace(action)
	if len(action) >= 2 && action[0] == '"' && action[len(action)-1] == '"' {
		action = strings.TrimSpace(action[1 : len(action)-1])
	}
	if action == "" {
		return "", true
	}
	op, found := strings.CutPrefix(action, ActionPrefix)
	if !found || !knownOperation(op) {
		return "", false
	}
	return op, true
}

func knownOperation(op string) bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return false
}

// Header is what Decoder.Start reads before the body's content: the token to check first and
// the operation the body's first element names.
type Header struct {
	// Token is the SignedToken header's JWT with surrounding whitespace removed; "" when absent.
	Token string
	// Operation is one of the Op constants.
	Operation string
}

// AuthenticateRequest is the body of Authenticate, as documented: the client state alone.
type AuthenticateRequest struct {
	ClientState string
}

// AuthenticateResponse carries the documented fields, written in this order.
type AuthenticateResponse struct {
	IsSuccessful              bool
	ErrorMessage              string
	SignedApplicationToken    string
	SupportedInterfaces       int
	SuperOfficeMirroringBuild string
	ClientState               string
	AdditionalInformationJson string
}

// TableSchemaRequest lists every table to mirror. The tables are as sent: not yet validated.
type TableSchemaRequest struct {
	ClientState string
	Tables      []schema.Table
}

// TableSchemaState is one table of a TableSchemaResponse.
type TableSchemaState struct {
	Name string
	LSN  int64
	// SchemaChange is None, Created, Altered or Recreated.
	SchemaChange string
}

// TableSchemaResponse answers each table's LSN and what happened to its schema.
type TableSchemaResponse struct {
	ClientState string
	Tables      []TableSchemaState
}

// WipeRequest names the tables to empty.
type WipeRequest struct {
	ClientState string
	Tables      []string
}

// WipeResponse carries the client state back.
type WipeResponse struct {
	ClientState string
}

// RowDataTableState is one table of a RowDataResponse: its LSN after the call, the rows
// committed, or the reason its rows were not written.
type RowDataTableState struct {
	Name                       string
	LSN                        int64
	Inserted, Updated, Deleted int64
	ErrorMessage               string
}

// RowDataResponse answers one state per table of the request.
type RowDataResponse struct {
	ClientState string
	Tables      []RowDataTableState
}

// ReplicationCompletedRequest ends a cycle. Summary is the sender's own count of each table's
// rows in the cycle, when it sends one.
type ReplicationCompletedRequest struct {
	ClientState string
	Summary     []TableSummary
}

// TableSummary is a table's row counts over a cycle: as the sender counted them in a
// ReplicationCompletedRequest, as mirrord did since the tenant's last Authenticate in a
// ReplicationCompletedResponse.
type TableSummary struct {
	Name                       string
	Inserted, Updated, Deleted int64
}

// ReplicationCompletedResponse sums up the cycle.
type ReplicationCompletedResponse struct {
	ClientState string
	Summary     []TableSummary
}

// Error is a request the codec refuses: malformed or hostile XML, or content that breaks the
// contract. It is always the caller's mistake (a s:Client fault). It names as much of the place
// as is known: operation, table, row (1-based within its batch), column, and the byte offset.
type Error struct {
	Operation string
	Table     string
	Row       int
	Column    string
	// Offset is the position in the body, in bytes, where the problem was found.
	Offset int64
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Operation != "" {
		b.WriteString(e.Operation)
	} else {
		b.WriteString("request")
	}
	sep := ": "
	if e.Table != "" {
		b.WriteString(sep + "table " + strconv.Quote(e.Table))
		sep = ", "
	}
	if e.Row > 0 {
		b.WriteString(sep + "row " + strconv.Itoa(e.Row))
		sep = ", "
	}
	if e.Column != "" {
		b.WriteString(sep + "column " + e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	fmt.Fprintf(&b, " (at byte %d)", e.Offset)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsClientError reports whether err is a request the codec refused (a *Error), which makes it
// the caller's mistake. Errors a RowSink returns keep their own class.
func IsClientError(err error) bool {
	var we *Error
	return errors.As(err, &we)
}

// Fault is a SOAP fault read back from a response.
type Fault struct {
	Code    string
	Message string
}

func (f *Fault) Error() string { return "SOAP fault " + f.Code + ": " + f.Message }

// quoteValue quotes a value for an error message, cut short when long.
func quoteValue(b []byte) string {
	const max = 80
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
