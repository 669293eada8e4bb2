package soapfront

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// Defaults of Config.
const (
	DefaultPath    = "/mirroring"
	DefaultMaxBody = 512 << 20
	// readyTimeout bounds the engine ping of /readyz, so that a hung database answers "not
	// ready" rather than hanging the load balancer's probe.
	readyTimeout = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Path is the service path the Server answers on; DefaultPath when empty.
	Path string
	// AppID is the partner application's id: tokens must carry aud "spn:<AppID>". It is set on
	// Verifier when the Verifier has none, and must agree with it otherwise.
	AppID string
	// Verifier checks SuperOffice's tokens; it must have certificates loaded.
	Verifier *auth.Verifier
	// PartnerKey signs the SignedApplicationToken that Authenticate answers.
	PartnerKey *rsa.PrivateKey
	// Paused, when set and true for a tenant, makes Authenticate answer
	// AdditionalInformationJson {"doNotReplicate":"true"}: maintenance on the partner side.
	Paused func(tenant string) bool
	// MaxBody bounds a request body, counted as sent and again after decompression;
	// DefaultMaxBody when zero or less.
	MaxBody int64
	// Logger gets one line per call; nothing is logged when nil.
	Logger *slog.Logger
	// Build is answered as SuperOfficeMirroringBuild.
	Build string
	// Metrics receives the server's metrics; a new set when nil (see Server.Metrics).
	Metrics *metrics.Set
	// Observer, when set, hears what each call of a verified tenant did (the status page).
	Observer Observer
	// Now is the clock of the application token's timestamp; time.Now when nil.
	Now func() time.Time
	// BodyProgress is how long a request body may send nothing before the call ends and rolls
	// back; DefaultBodyProgress when zero, none when negative.
	BodyProgress time.Duration
	// ReadTimeout bounds the reading of a whole request body; DefaultReadTimeout when zero,
	// none when negative.
	ReadTimeout time.Duration
	// AnswerTimeout bounds the writing of a response; DefaultAnswerTimeout when zero.
	AnswerTimeout time.Duration
	// CaptureDir, when set, receives every request the wire refuses (see capture.go).
	CaptureDir string
	// CaptureMax bounds how much of a request a capture keeps; DefaultCaptureMax when zero.
	CaptureMax int64
}

// Server serves the mirroring operations over HTTP. It implements http.Handler for the service
// path; Health and Ready are the probes a daemon mounts beside it.
type Server struct {
	engine  *engine.Engine
	cfg     Config
	log     *slog.Logger
	metrics *serverMetrics

	// base is the parent of every call's context: Shutdown cancels it when its deadline passes,
	// so that calls still running roll back instead of outliving the process.
	base       context.Context
	cancelBase context.CancelCauseFunc

	captureMu sync.Mutex // one prune of the capture folder at a time
	skips     skippedNames

	mu       sync.Mutex
	draining bool
	inflight int
	idle     chan struct{} // closed when draining and no call is in flight
}

// New returns a Server over e.
func New(e *engine.Engine, cfg Config) (*Server, error) {
	if e == nil {
		return nil, errors.New("soapfront: no engine")
	}
	if cfg.Verifier == nil {
		return nil, errors.New("soapfront: no token verifier")
	}
	if cfg.PartnerKey == nil {
		return nil, errors.New("soapfront: no partner key to sign Authenticate answers with")
	}
	if err := cfg.PartnerKey.Validate(); err != nil {
		return nil, fmt.Errorf("soapfront: partner key: %w", err)
	}
	switch {
	case cfg.Verifier.AppID == "" && cfg.AppID == "":
		return nil, errors.New("soapfront: no application id")
	case cfg.Verifier.AppID == "":
		cfg.Verifier.AppID = cfg.AppID
	case cfg.AppID != "" && cfg.AppID != cfg.Verifier.AppID:
		return nil, fmt.Errorf("soapfront: application id %q differs from the verifier's %q", cfg.AppID, cfg.Verifier.AppID)
	}
	cfg.AppID = cfg.Verifier.AppID
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if !strings.HasPrefix(cfg.Path, "/") {
		return nil, fmt.Errorf("soapfront: path %q does not start with /", cfg.Path)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BodyProgress == 0 {
		cfg.BodyProgress = DefaultBodyProgress
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = DefaultAnswerTimeout
	}
	if cfg.CaptureMax <= 0 {
		cfg.CaptureMax = DefaultCaptureMax
	}
	base, cancel := context.WithCancelCause(context.Background())
	return &Server{
		engine:     e,
		cfg:        cfg,
		log:        cfg.Logger,
		metrics:    newServerMetrics(cfg.Metrics),
		base:       base,
		cancelBase: cancel,
	}, nil
}

// Metrics returns the set the server's metrics live in, for the daemon's /metrics.
func (s *Server) Metrics() *metrics.Set { return s.cfg.Metrics }

// Path returns the service path.
func (s *Server) Path() string { return s.cfg.Path }

func operationNames() []string { return wire.Operations }

// errDraining is the cause of the cancellation of calls still running when Shutdown gives up.
var errDraining = errors.New("mirrord is shutting down; the call was rolled back")

// Shutdown stops taking calls (new ones get 503) and waits for the calls in flight to finish.
// When ctx ends first, the calls still running are cancelled, so each rolls back whole; Shutdown
// waits for them to return and then reports ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.draining {
		s.draining = true
		s.idle = make(chan struct{})
		if s.inflight == 0 {
			close(s.idle)
		}
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		s.cancelBase(errDraining)
		<-idle
		return ctx.Err()
	}
}

// Draining reports whether Shutdown has been called.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// enter admits a call unless the server is draining.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.draining && s.inflight == 0 {
		close(s.idle)
	}
}

// Health answers 200 while the process serves HTTP: the liveness probe.
func (s *Server) Health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.writeBody(w, r, http.StatusOK, "text/plain; charset=utf-8", []byte("ok\n"))
}

// Ready answers 200 when the server takes calls and the engine's target answers, 503 otherwise:
// the readiness probe, which turns 503 as soon as Shutdown starts so that balancers move on.
func (s *Server) Ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.Draining() {
		s.writeBody(w, r, http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("draining\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.engine.Ping(ctx); err != nil {
		s.log.Warn("readiness ping failed", "err", redact(err.Error()))
		s.writeBody(w, r, http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("target does not answer\n"))
		return
	}
	s.writeBody(w, r, http.StatusOK, "text/plain; charset=utf-8", []byte("ready\n"))
}

// ServeHTTP serves the service path: POST for the operations, GET ?wsdl for the contract.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := strings.TrimSuffix(r.URL.Path, "/"); p != strings.TrimSuffix(s.cfg.Path, "/") {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.serveCall(w, r)
	case http.MethodGet:
		if isWSDLQuery(r.URL.RawQuery) {
			s.serveWSDL(w, r)
			return
		}
		s.refuse(w, r, http.StatusMethodNotAllowed, "GET serves the WSDL only: ask for "+s.cfg.Path+"?wsdl, or POST a SOAP call")
	default:
		s.refuse(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed; POST a SOAP call or GET ?wsdl", r.Method))
	}
}

// isWSDLQuery accepts ?wsdl and ?WSDL as .NET clients write it, alone or with other parameters.
func isWSDLQuery(raw string) bool {
	for _, part := range strings.Split(raw, "&") {
		key, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(key, "wsdl") {
			return true
		}
	}
	return false
}

func (s *Server) serveWSDL(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.writeBody(w, r, http.StatusOK, "text/xml; charset=utf-8", wire.WSDL(serviceURL(r, s.cfg.Path)))
}

// serviceURL is the address the WSDL names for the service: the one the client reached.
func serviceURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// refuse answers a request the transport turns down before any SOAP is read, with a fault body
// so that SOAP clients show the reason.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "POST, GET")
	}
	outcome := outcomeTransport
	if status == http.StatusServiceUnavailable {
		outcome = outcomeUnavailable
		w.Header().Set("Retry-After", "30")
	}
	s.metrics.call(opUnknown, outcome, 0, 0)
	s.log.Info("call refused", "method", r.Method, "status", status, "outcome", outcome, "reason", msg, "remote", r.RemoteAddr)
	s.writeBody(w, r, status, "text/xml; charset=utf-8", faultBody(wire.FaultClient, msg))
}

// panicMessage is all a client learns of a panic; the stack goes to the log.
const panicMessage = "internal error"

// recoverCall turns a panic in a call into an s:Server fault; the stack is logged, never sent.
func (s *Server) recoverCall(w http.ResponseWriter, r *http.Request, c *call) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("panic in call", "operation", c.op, "tenant", c.tenant, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	c.outcome = outcomeServerFault
	if !c.wrote {
		c.wrote = true
		s.writeBody(w, r, http.StatusInternalServerError, "text/xml; charset=utf-8", faultBody(wire.FaultServer, panicMessage))
	}
}
