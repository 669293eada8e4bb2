package status

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// chromium finds a headless-capable Chromium, or skips the test saying how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium on PATH: install Debian's chromium package (make tools does, as root) to test the status page in a browser")
	return ""
}

// screenshot takes a PNG of url as a phone of width x height CSS pixels shows it.
func screenshot(t *testing.T, url string, width, height int) image.Image {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "status.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--force-device-scale-factor=1", fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+shot, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if keep := os.Getenv("MIRRORD_TEST_SCREENSHOT"); keep != "" {
		if data, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(keep, data, 0o644)
		}
	}
	return img
}

// countNear counts the pixels of img within a small distance of the colour r, g, b.
func countNear(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr>>8, r) && near(pg>>8, g) && near(pb>>8, b) {
				n++
			}
		}
	}
	return n
}

func near(a uint32, b uint8) bool {
	d := int(a) - int(b)
	return d >= -6 && d <= 6
}

// TestPageInBrowser renders the page in headless Chromium at a phone's size and checks that
// the tenants' states and the rows chart are drawn: the failing pill's red, the chart's blue.
func TestPageInBrowser(t *testing.T) {
	clk := newClock()
	b := New(Options{Now: clk.Now, Behind: time.Hour, Version: "test"})
	for i := range 30 {
		runCycle(b, clk, fmt.Sprintf("Cust%04d", i), int64(1000*(i+1)))
		clk.advance(time.Minute)
	}
	b.Observe(applied("Cust0007", engine.TableApplyResult{Name: "contact", LSN: 9, Err: errors.New("the row's key is missing")}))
	b.Observe(call("Cust0100", wire.OpAuthenticate))
	srv := httptest.NewServer(b)
	defer srv.Close()

	img := screenshot(t, srv.URL, 412, 915)
	if got := img.Bounds().Size(); got.X != 412 || got.Y != 915 {
		t.Fatalf("screenshot is %v, want 412x915", got)
	}
	if n := countNear(img, 0xff, 0xe3, 0xe3); n < 200 {
		t.Fatalf("only %d pixels of the failing state's red: the page's style did not render", n)
	}
	if n := countNear(img, 0x2f, 0x81, 0xf7); n < 200 {
		t.Fatalf("only %d pixels of the chart's blue: the rows chart did not render", n)
	}
}
