package soapfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Defaults of Config's body deadlines.
const (
	// DefaultBodyProgress is how long a request body may send nothing before the call ends: a
	// body that stops arriving must not hold a table's lane, an apply slot and a database
	// transaction for longer.
	DefaultBodyProgress = 30 * time.Second
	// DefaultReadTimeout bounds a whole request body: 2 GiB, WCF's largest message, at 3 MB/s.
	DefaultReadTimeout = 15 * time.Minute
	// DefaultAnswerTimeout bounds the writing of a response, which holds a few kilobytes (an
	// Authenticate echoes its ClientState): a caller that does not read its answer holds its
	// call, and a drain at shutdown, no longer than this.
	DefaultAnswerTimeout = time.Minute
)

// errBodyShort is a request body that ended before its Content-Length: the client closed it.
type errBodyShort struct{ err error }

func (e *errBodyShort) Error() string {
	return "the request body ended before its Content-Length: " + e.err.Error()
}

// errBodyStalled is a request body that stopped arriving, or took longer than the read timeout:
// the caller's fault, whatever it held open meanwhile.
type errBodyStalled struct{ msg string }

func (e *errBodyStalled) Error() string { return e.msg }

// deadlineBody keeps a request body arriving: before each read it moves the connection's read
// deadline to the sooner of now plus progress and the call's end, so that a read which waits
// past either fails. Once a shutdown gave up on the call it reads nothing more.
type deadlineBody struct {
	ctx      context.Context
	r        io.Reader
	rc       *http.ResponseController
	progress time.Duration
	end      time.Time // zero: no overall deadline
	total    time.Duration
}

func newDeadlineBody(ctx context.Context, w http.ResponseWriter, r io.Reader, progress, total time.Duration) *deadlineBody {
	b := &deadlineBody{ctx: ctx, r: r, rc: http.NewResponseController(w), progress: progress, total: total}
	if total > 0 {
		b.end = time.Now().Add(total)
	}
	return b
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if cause := context.Cause(b.ctx); errors.Is(cause, errDraining) {
		return 0, cause
	}
	now := time.Now()
	var deadline time.Time
	if b.progress > 0 {
		deadline = now.Add(b.progress)
	}
	if !b.end.IsZero() && (deadline.IsZero() || b.end.Before(deadline)) {
		deadline = b.end
	}
	if !deadline.IsZero() {
		// A writer that cannot set deadlines (a test recorder) leaves the body unbounded.
		_ = b.rc.SetReadDeadline(deadline)
	}
	n, err := b.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// Typed here, where it can only be the body's: a database connection that drops also
		// reports io.ErrUnexpectedEOF, and that is no fault of the client's.
		return n, &errBodyShort{err}
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if cause := context.Cause(b.ctx); errors.Is(cause, errDraining) {
			return n, cause // the shutdown's wake-up, not the client's slowness
		}
		if !b.end.IsZero() && !time.Now().Before(b.end) {
			return n, &errBodyStalled{fmt.Sprintf("the request body took longer than the read timeout of %s", b.total)}
		}
		return n, &errBodyStalled{fmt.Sprintf("the request body sent nothing for %s; the call was ended and nothing of it was written", b.progress)}
	}
	return n, err
}
