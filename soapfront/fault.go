package soapfront

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// fault is how a failed call is answered: its SOAP faultcode, HTTP status and message.
type fault struct {
	code    string
	status  int
	msg     string
	outcome string
}

// classify decides whose mistake err is. The caller's: a refused token, a body the codec
// refuses, a request the engine calls bad, a body over the limit. Everything else is the
// server's, and its text is redacted of anything that looks like a credential.
func classify(err error) fault {
	var (
		tooLarge  *errBodyTooLarge
		transport *errTransport
		stalled   *errBodyStalled
		short     *errBodyShort
	)
	switch {
	case errors.As(err, &tooLarge):
		return fault{wire.FaultClient, http.StatusRequestEntityTooLarge, err.Error(), outcomeTooLarge}
	case errors.As(err, &transport):
		return fault{wire.FaultClient, transport.status, transport.msg, outcomeTransport}
	case errors.As(err, &stalled):
		return fault{wire.FaultClient, http.StatusRequestTimeout, stalled.msg, outcomeTransport}
	case errors.As(err, &short):
		return fault{wire.FaultClient, http.StatusBadRequest, short.Error(), outcomeTransport}
	case errors.Is(err, errDraining):
		return fault{wire.FaultServer, http.StatusServiceUnavailable, errDraining.Error(), outcomeUnavailable}
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, engine.ErrBadRequest), wire.IsClientError(err), errors.Is(err, errClient):
		return fault{wire.FaultClient, http.StatusInternalServerError, redact(err.Error()), outcomeClientFault}
	case errors.Is(err, context.Canceled):
		return fault{wire.FaultServer, http.StatusInternalServerError, "the call was cancelled before it finished: " + public(err.Error()), outcomeServerFault}
	case errors.Is(err, engine.ErrBusy):
		return fault{wire.FaultServer, http.StatusServiceUnavailable, public(err.Error()), outcomeUnavailable}
	}
	return fault{wire.FaultServer, http.StatusInternalServerError, public(err.Error()), outcomeServerFault}
}

// errClient marks the front end's own refusals of a request (an action that disagrees with the
// body, a token missing from the header).
var errClient = errors.New("bad request")

type clientError struct{ msg string }

func (e *clientError) Error() string        { return e.msg }
func (e *clientError) Is(target error) bool { return target == errClient }

// Credentials can reach an error text through a driver's connection error; they never reach a
// client or a log line.
var (
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*):\S*@`)
	kvPassword  = regexp.MustCompile(`(?i)\b(password|pwd|passwd|secret|token)\s*=\s*("[^"]*"|'[^']*'|[^\s;&]*)`)
	bearer      = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
)

// redact hides passwords in URLs and key=value settings, and anything shaped like a JWT.
func redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "$1:***@")
	s = kvPassword.ReplaceAllString(s, "$1=***")
	s = bearer.ReplaceAllString(s, "[token]")
	return s
}

// How a database or the file system names where it is, in the errors drivers write.
var (
	pgConnect   = regexp.MustCompile("failed to connect to `[^`]*`")
	dnsLookup   = regexp.MustCompile(`\blookup \S+`)
	dbName      = regexp.MustCompile(`\b(in |of |)database [A-Za-z0-9_]*[_0-9A-Z][A-Za-z0-9_]*`)
	mssqlHost   = regexp.MustCompile(`\bhost '[^']*'`)
	address     = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b|\[[0-9A-Fa-f:]+\](?::\d{1,5})?|\b[A-Za-z][A-Za-z0-9.-]*:\d{2,5}\b`)
	absPath     = regexp.MustCompile(`(^|[\s"'(=:])(/[^\s"'()]+|[A-Za-z]:\\[^\s"'()]+)`)
	dbSettingKV = regexp.MustCompile(`(?i)\b(user|database|host|port|dbname|server)=\S+`)
)

// public is what a caller may read of a server-side error: redacted, and without the database's
// address, login, database name or local paths, which the log line keeps for the operator.
func public(s string) string {
	s = redact(s)
	s = pgConnect.ReplaceAllString(s, "could not connect to the mirror database")
	s = mssqlHost.ReplaceAllString(s, "the database host")
	s = dnsLookup.ReplaceAllString(s, "lookup [host]")
	s = dbName.ReplaceAllString(s, "${1}the mirror database")
	s = dbSettingKV.ReplaceAllString(s, "$1=[hidden]")
	s = absPath.ReplaceAllString(s, "$1[path]")
	s = address.ReplaceAllString(s, "[address]")
	return s
}
