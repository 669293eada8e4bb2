package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Headers of a webhook delivery.
const (
	HeaderSignature = "X-Mirrord-Signature" // sha256=<hex HMAC-SHA256 of the body, keyed with the secret>
	HeaderDelivery  = "X-Mirrord-Delivery"  // the event's id, the same on every try
	HeaderEvent     = "X-Mirrord-Event"
)

// Sign is the X-Mirrord-Signature of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// CheckWebhookURL refuses what is not an absolute http or https URL.
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook %q: %w", redactURL(raw), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %q: want an http:// or https:// URL", redactURL(raw))
	}
	return nil
}

// redactURL is a URL fit for a log line: no password, no query (it may hold a token).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unreadable URL)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.Redacted()
}

// webhook POSTs events to one URL.
type webhook struct {
	url     string
	secret  []byte
	client  *http.Client
	timeout time.Duration // of each try
	tries   int
	backoff time.Duration // before the second try; doubled before each next
	retried func()
}

// deliver POSTs the event until the receiver takes it (a 2xx), for at most w.tries tries. A
// 4xx other than 408 and 429 says the receiver will never take it, so it is not sent again.
func (w *webhook) deliver(ctx context.Context, ev Event, body []byte) error {
	wait := w.backoff
	for try := 1; ; try++ {
		err, again := w.post(ctx, ev, body)
		if err == nil {
			return nil
		}
		if !again || try >= w.tries {
			return fmt.Errorf("after %d tries: %w", try, err)
		}
		w.retried()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("after %d tries, stopped: %w", try, err)
		case <-t.C:
		}
		wait *= 2
	}
}

func (w *webhook) post(ctx context.Context, ev Event, body []byte) (err error, again bool) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mirrord-hooks")
	req.Header.Set(HeaderEvent, ev.Event)
	req.Header.Set(HeaderDelivery, ev.ID)
	if len(w.secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// The *url.Error names the URL, which may hold a token: keep only what went wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("POST: %w", err), true
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	if resp.StatusCode/100 == 2 {
		return nil, false
	}
	err = fmt.Errorf("the receiver answered %s: %s", resp.Status, bytes.TrimSpace(snippet))
	retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return err, retry
}
