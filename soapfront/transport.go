package soapfront

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// errBodyTooLarge is the body crossing Config.MaxBody, before or after decompression.
type errBodyTooLarge struct{ limit int64 }

func (e *errBodyTooLarge) Error() string {
	return fmt.Sprintf("request body is larger than the limit of %d bytes", e.limit)
}

// errTransport is a request the transport refuses before any SOAP is read: its HTTP status
// says why (415, 413, 400).
type errTransport struct {
	status int
	msg    string
}

func (e *errTransport) Error() string { return e.msg }

// checkContentType accepts the XML media types SOAP 1.1 and 1.2 clients send. A missing
// Content-Type is refused too: a client that does not say it sends XML is not a SOAP client.
func checkContentType(header string) (mediaType string, params map[string]string, err error) {
	if strings.TrimSpace(header) == "" {
		return "", nil, &errTransport{http.StatusUnsupportedMediaType, "Content-Type is missing; send text/xml"}
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return "", nil, &errTransport{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q does not parse: %v", header, err)}
	}
	switch mt {
	case "text/xml", "application/xml", "application/soap+xml":
	default:
		return "", nil, &errTransport{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not XML; send text/xml", mt)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "", nil, &errTransport{http.StatusUnsupportedMediaType, fmt.Sprintf("charset %q is not supported; send utf-8", cs)}
	}
	return mt, params, nil
}

// soapAction returns the action a request names: the SOAPAction header of SOAP 1.1 or the
// action parameter of a SOAP 1.2 Content-Type; "" when neither is there.
func soapAction(h http.Header, contentParams map[string]string) string {
	if a := strings.TrimSpace(h.Get("SOAPAction")); a != "" {
		return a
	}
	return strings.TrimSpace(contentParams["action"])
}

// limitReader fails with errBodyTooLarge once more than limit bytes have come through. It
// guards both the wire bytes and the decompressed bytes, so a gzip bomb stops at the limit.
type limitReader struct {
	r     io.Reader
	limit int64
	n     int64
	// onRead, when set, is told of every read, for the in-flight gauge and the call's log line.
	onRead func(n int64)
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.limit {
		return 0, &errBodyTooLarge{limit: l.limit}
	}
	// Read one byte past the limit at most: that byte proves the body is too large.
	if rest := l.limit + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.onRead != nil && n > 0 {
		l.onRead(int64(n))
	}
	if l.n > l.limit {
		return n, &errBodyTooLarge{limit: l.limit}
	}
	return n, err
}

// body is a request body made ready for the XML decoder: size-limited on the wire and after
// decoding its Content-Encoding.
type body struct {
	io.Reader
	wire    *limitReader
	decoded *limitReader
	closers []io.Closer
}

// Close releases the decompressor. It does not close the request body: net/http does.
func (b *body) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// WireBytes is how many bytes of the request body were read as sent.
func (b *body) WireBytes() int64 { return b.wire.n }

// openBody wraps the request body (raw: r.Body, perhaps behind its deadlines) in the size limits
// and the decompressor its Content-Encoding names. onRead, when set, is told of the decoded bytes as they are read.
func openBody(r *http.Request, raw io.Reader, limit int64, onRead func(n int64)) (*body, error) {
	if r.ContentLength > limit {
		return nil, &errBodyTooLarge{limit: limit}
	}
	wire := &limitReader{r: raw, limit: limit}
	b := &body{wire: wire}
	var decoded io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		decoded = wire
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(wire)
		if err != nil {
			return nil, encodingError("gzip", err)
		}
		b.closers = append(b.closers, zr)
		decoded = zr
	case "deflate":
		br := bufio.NewReader(wire)
		// HTTP's deflate is zlib-wrapped (RFC 9110), but clients often send raw deflate: the
		// first two bytes tell them apart.
		head, err := br.Peek(2)
		if err != nil {
			return nil, encodingError("deflate", err)
		}
		if isZlibHeader(head) {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, encodingError("deflate", err)
			}
			b.closers = append(b.closers, zr)
			decoded = zr
		} else {
			fr := flate.NewReader(br)
			b.closers = append(b.closers, fr)
			decoded = fr
		}
	default:
		return nil, &errTransport{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send gzip, deflate or none", enc)}
	}
	b.decoded = &limitReader{r: decoded, limit: limit, onRead: onRead}
	b.Reader = b.decoded
	if len(b.closers) > 0 {
		b.Reader = &decodeErrorReader{r: b.decoded}
	}
	return b, nil
}

func encodingError(enc string, err error) error {
	var tooLarge *errBodyTooLarge
	if errors.As(err, &tooLarge) {
		return err
	}
	return &errTransport{http.StatusBadRequest, fmt.Sprintf("request body is not valid %s: %v", enc, err)}
}

// decodeErrorReader names a corrupt compressed stream as such, so that the fault does not blame
// the XML for what the compression broke.
type decodeErrorReader struct{ r io.Reader }

func (d *decodeErrorReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		var tooLarge *errBodyTooLarge
		if !errors.As(err, &tooLarge) && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
			errors.Is(err, zlib.ErrChecksum) || errors.Is(err, zlib.ErrHeader) || isFlateError(err) || errors.Is(err, io.ErrUnexpectedEOF)) {
			err = &errTransport{http.StatusBadRequest, "request body does not decompress: " + err.Error()}
		}
	}
	return n, err
}

func isFlateError(err error) bool {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	return errors.As(err, &corrupt) || errors.As(err, &internal)
}

func isZlibHeader(h []byte) bool {
	return len(h) >= 2 && h[0]&0x0f == 8 && h[0]>>4 <= 7 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0
}

// acceptsGzip reports whether an Accept-Encoding header allows a gzip response.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// writeBody writes a finished response within Config.AnswerTimeout. net/http sets no write
// deadline of its own (serve leaves http.Server.WriteTimeout unset, since an apply may take
// minutes before its answer), so without this a caller that never reads its answer, over HTTP/1.1
// or on an HTTP/2 stream whose window it keeps shut, held the call, its connection and the drain
// forever. The deadline stays after the handler returns, since net/http sends the last few
// kilobytes of a response (most answers whole) only then; it clears the connection's deadline
// itself once the response is finished (HTTP/1.1: conn.serve after finishRequest; on HTTP/2 a
// deadline is the stream's), so a kept-alive connection's next request begins without it. A
// ResponseWriter that takes no deadline (a test's recorder) writes as before.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, payload []byte) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.AnswerTimeout))
	writeBody(w, r, status, contentType, payload)
}

// writeBody writes a finished response, gzipped when the client allows it and it is worth it.
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, payload []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	if len(payload) >= gzipMinSize && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		var buf strings.Builder
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(payload)
		_ = zw.Close()
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, buf.String())
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}

// gzipMinSize is the smallest response worth compressing: below it gzip's header costs more
// than it saves.
const gzipMinSize = 512
