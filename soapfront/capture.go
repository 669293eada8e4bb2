package soapfront

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mirrord/mirrord/soapfront/wire"
)

// Captures of refused requests: the only operation whose wire shape SuperOffice documents is
// Authenticate, so the day a real Mirroring Task sends a shape mirrord does not read, the partner
// hands over the capture and the shape is known. A capture is the decoded request as it arrived,
// up to Config.CaptureMax bytes, with the SignedToken replaced by [redacted], and beside it a
// text file with the fault. Only requests the wire refuses are captured (malformed XML, an
// unknown shape, a value that does not parse), never one refused for its token. The newest
// maxCaptures are kept.
const (
	// DefaultCaptureMax is how much of a request a capture keeps.
	DefaultCaptureMax = 16 << 20
	maxCaptures       = 100
)

// captureBuffer keeps the first max bytes written to it.
type captureBuffer struct {
	buf       bytes.Buffer
	max       int64
	truncated bool
}

func (c *captureBuffer) Write(p []byte) (int, error) {
	if room := c.max - int64(c.buf.Len()); int64(len(p)) > room {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// capturing tees the decoded body into the call's capture when captures are on.
func (s *Server) capturing(c *call, r io.Reader) io.Reader {
	if s.cfg.CaptureDir == "" {
		return r
	}
	c.captured = &captureBuffer{max: s.cfg.CaptureMax}
	return io.TeeReader(r, c.captured)
}

var signedTokenText = regexp.MustCompile(`(<(?:[\w.-]+:)?SignedToken\b[^>]*>)[^<]*`)

// capture writes the call's request and fault when the wire refused the request.
func (s *Server) capture(c *call, err error) {
	// Only a caller whose token checks out is captured: anyone else could fill the folder and
	// push the operator's real captures out of the newest 100 kept.
	if c.captured == nil || !(wire.IsClientError(err) || errors.Is(err, errClient)) || !c.verified {
		return
	}
	data := c.captured.buf.Bytes()
	if c.token != "" {
		data = bytes.ReplaceAll(data, []byte(c.token), []byte("[redacted]"))
	}
	data = signedTokenText.ReplaceAll(data, []byte("${1}[redacted]"))
	data = bearer.ReplaceAll(data, []byte("[redacted]"))

	tenant := c.tenant
	if tenant == "" {
		tenant = "unknown"
	}
	name := fmt.Sprintf("%s-%s-%s-%s", time.Now().UTC().Format("20060102T150405.000"), c.op, tenant, c.id)
	base := filepath.Join(s.cfg.CaptureDir, name)
	note := fmt.Sprintf("call %s\noperation %s\ntenant %s\nat %s\nbytes kept %d (truncated: %t)\nfault: %s\n",
		c.id, c.op, tenant, time.Now().UTC().Format(time.RFC3339Nano), len(data), c.captured.truncated, redact(err.Error()))
	if werr := errors.Join(os.WriteFile(base+".xml", data, 0o640), os.WriteFile(base+".txt", []byte(note), 0o640)); werr != nil {
		s.log.Warn("capture not written", "call", c.id, "dir", s.cfg.CaptureDir, "err", werr)
		return
	}
	c.captureFile = base + ".xml"
	s.pruneCaptures()
}

// pruneCaptures keeps the newest maxCaptures captures. Names start with their UTC time, so the
// oldest sort first.
func (s *Server) pruneCaptures() {
	s.captureMu.Lock()
	defer s.captureMu.Unlock()
	entries, err := os.ReadDir(s.cfg.CaptureDir)
	if err != nil {
		return
	}
	var stems []string
	for _, e := range entries {
		if stem, ok := strings.CutSuffix(e.Name(), ".xml"); ok && !e.IsDir() {
			stems = append(stems, stem)
		}
	}
	slices.Sort(stems)
	for len(stems) > maxCaptures {
		old := filepath.Join(s.cfg.CaptureDir, stems[0])
		_ = os.Remove(old + ".xml")
		_ = os.Remove(old + ".txt")
		stems = stems[1:]
	}
}
