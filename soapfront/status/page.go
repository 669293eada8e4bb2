package status

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"
)

// States of a tenant on the page, worst first.
const (
	stateFailing = "failing" // a table's last RowData rolled back, or the last call failed
	stateBehind  = "behind"  // no cycle completed within Options.Behind
	stateRunning = "running" // a cycle is open and nothing failed
	stateOK      = "ok"
)

var stateRank = map[string]int{stateFailing: 0, stateBehind: 1, stateRunning: 2, stateOK: 3}

type pageView struct {
	Generated string
	Version   string
	Uptime    string
	Behind    string
	Counts    map[string]int
	Tenants   []tenantView
	Chart     chartView
}

type tenantView struct {
	Name       string
	State      string
	Why        string
	LastAuth   string
	LastCycle  string
	Duration   string
	CycleRows  int64
	CycleFails []string
	RowsHour   int64
	Open       string // since when a cycle is open; empty when none is
	CallErr    *callErrorView
	Failing    []tableView
	Tables     []tableView
}

type callErrorView struct {
	Op, ID, Msg, Ago string
}

type tableView struct {
	Name    string
	LSN     int64
	Applied string
	Rows    int64
	Err     string
	ErrAgo  string
	Wiped   string
}

type chartView struct {
	Bars    []barView
	PeakRPS string
	HourRPS string
}

type barView struct {
	X, Y, H float64
	Title   string
}

const (
	chartWidth  = 600
	chartHeight = 100
)

// ServeHTTP serves the page. It is read-only: any method but GET and HEAD is refused.
func (b *Board) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the status page is read-only", http.StatusMethodNotAllowed)
		return
	}
	view := b.view()
	var out strings.Builder
	if err := page.Execute(&out, view); err != nil {
		http.Error(w, "render the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Nothing on the page is fetched or run: no script, no external asset, no frame.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(out.String()))
}

// view snapshots the Board into what the page shows.
func (b *Board) view() pageView {
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	v := pageView{
		Generated: now.UTC().Format("2006-01-02 15:04:05 UTC"),
		Version:   b.opts.Version,
		Uptime:    round(now.Sub(b.started)),
		Behind:    round(b.opts.Behind),
		Counts:    map[string]int{},
		Chart:     chart(b.rows.series(now), now),
	}
	for _, t := range b.tenants {
		tv := b.tenantView(t, now)
		v.Counts[tv.State]++
		v.Tenants = append(v.Tenants, tv)
	}
	sort.Slice(v.Tenants, func(i, j int) bool {
		a, c := v.Tenants[i], v.Tenants[j]
		if stateRank[a.State] != stateRank[c.State] {
			return stateRank[a.State] < stateRank[c.State]
		}
		return a.Name < c.Name
	})
	return v
}

func (b *Board) tenantView(t *tenant, now time.Time) tenantView {
	tv := tenantView{Name: t.name, LastAuth: ago(now, t.lastAuth), LastCycle: "never", RowsHour: t.rows.total(now)}
	if t.last != nil {
		tv.LastCycle, tv.Duration, tv.CycleRows, tv.CycleFails = ago(now, t.last.end), round(t.last.duration), t.last.rows, t.last.failed
	}
	if !t.start.IsZero() {
		tv.Open = ago(now, t.start)
	}
	for _, tb := range t.tables {
		view := tableView{Name: tb.name, LSN: tb.lsn, Applied: ago(now, tb.applied), Rows: tb.rows, Err: tb.err}
		if !tb.wiped.IsZero() {
			view.Wiped = ago(now, tb.wiped)
		}
		if tb.err != "" {
			view.ErrAgo = ago(now, tb.errAt)
			tv.Failing = append(tv.Failing, view)
		}
		tv.Tables = append(tv.Tables, view)
	}
	sort.Slice(tv.Tables, func(i, j int) bool { return tv.Tables[i].Name < tv.Tables[j].Name })
	sort.Slice(tv.Failing, func(i, j int) bool { return tv.Failing[i].Name < tv.Failing[j].Name })
	if t.lastErr != nil {
		e := t.lastErr
		tv.CallErr = &callErrorView{Op: e.op, ID: e.id, Msg: e.msg, Ago: ago(now, e.at)}
	}
	since := t.firstSeen
	if t.last != nil {
		since = t.last.end
	}
	switch {
	case len(tv.Failing) > 0:
		tv.State, tv.Why = stateFailing, fmt.Sprintf("%d table(s) rolled back", len(tv.Failing))
	case tv.CallErr != nil:
		tv.State, tv.Why = stateFailing, "its last "+tv.CallErr.Op+" call failed"
	case now.Sub(since) > b.opts.Behind:
		tv.State = stateBehind
		if t.last == nil {
			tv.Why = "no cycle completed since mirrord started"
		} else {
			tv.Why = "no cycle completed for " + round(now.Sub(since))
		}
	case tv.Open != "":
		tv.State, tv.Why = stateRunning, "cycle open since "+tv.Open
	default:
		tv.State = stateOK
	}
	return tv
}

// chart lays out the rows-per-second bars of the last hour.
func chart(series [window]int64, now time.Time) chartView {
	var peak, total int64
	for _, n := range series {
		peak = max(peak, n)
		total += n
	}
	c := chartView{PeakRPS: rate(peak, time.Minute), HourRPS: rate(total, time.Hour)}
	step := float64(chartWidth) / window
	for k, n := range series {
		h := 0.0
		if peak > 0 {
			h = float64(n) / float64(peak) * chartHeight
		}
		if n > 0 && h < 1 {
			h = 1 // a minute with any rows stays visible
		}
		at := now.Add(-time.Duration(window-1-k) * time.Minute).UTC()
		c.Bars = append(c.Bars, barView{
			X: float64(k) * step, Y: chartHeight - h, H: h,
			Title: fmt.Sprintf("%s UTC: %s rows/s", at.Format("15:04"), rate(n, time.Minute)),
		})
	}
	return c
}

func rate(rows int64, over time.Duration) string {
	r := float64(rows) / over.Seconds()
	switch {
	case r == 0:
		return "0"
	case r < 10:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// ago says how long before now t was, in the largest unit that fits.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if now.Sub(t) < time.Second {
		return "just now"
	}
	return round(now.Sub(t)) + " ago"
}

func round(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

var page = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mirrord status</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1b1f23;background:#fafafa;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#57606a;font-size:13px;margin-bottom:12px}
.pills span{display:inline-block;padding:2px 10px;border-radius:12px;margin:0 6px 6px 0;font-weight:600}
.failing{background:#ffe3e3;color:#a40e26}.behind{background:#fff1c2;color:#7a4d00}
.running{background:#ddf4ff;color:#0550ae}.ok{background:#dafbe1;color:#116329}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px;margin-bottom:12px}
h2{font-size:16px;margin:0 0 8px}
svg{width:100%;height:auto;display:block}
.bar{fill:#2f81f7}
.tenant{border-top:1px solid #eaeef2;padding:8px 0}
.tenant:first-of-type{border-top:0}
.name{font-weight:600;word-break:break-all}
.state{font-size:12px;padding:1px 8px;border-radius:10px;margin-left:6px}
.facts{color:#57606a;font-size:13px}
.err{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word;background:#fff5f5;border-left:3px solid #a40e26;padding:4px 6px;margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #eaeef2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
details summary{cursor:pointer;color:#0550ae;font-size:13px}
.wrap{overflow-x:auto}
</style>
</head>
<body>
<h1>mirrord status</h1>
<div class="meta">{{.Generated}} · up {{.Uptime}}{{with .Version}} · {{.}}{{end}} · a tenant is behind after {{.Behind}} without a completed cycle</div>
<div class="pills">
<span class="failing">{{index .Counts "failing"}} failing</span><span class="behind">{{index .Counts "behind"}} behind</span><span class="running">{{index .Counts "running"}} in a cycle</span><span class="ok">{{index .Counts "ok"}} ok</span>
</div>
<section>
<h2>Rows per second, last hour</h2>
<svg viewBox="0 0 600 118" role="img" aria-label="rows per second per minute over the last hour, all tenants">
<line x1="0" y1="100.5" x2="600" y2="100.5" stroke="#d0d7de"/>
{{range .Chart.Bars}}<rect class="bar" x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="8.5" height="{{printf "%.1f" .H}}"><title>{{.Title}}</title></rect>{{end}}
<text x="0" y="115" font-size="11" fill="#57606a">60 min ago</text>
<text x="600" y="115" font-size="11" fill="#57606a" text-anchor="end">now</text>
</svg>
<div class="facts">peak minute {{.Chart.PeakRPS}} rows/s · hour average {{.Chart.HourRPS}} rows/s</div>
</section>
<section>
<h2>Tenants</h2>
{{if not .Tenants}}<div class="facts">No tenant has called since mirrord started.</div>{{end}}
{{range .Tenants}}<div class="tenant" id="tenant-{{.Name}}">
<div><span class="name">{{.Name}}</span><span class="state {{.State}}">{{.State}}</span>{{with .Why}} <span class="facts">{{.}}</span>{{end}}</div>
<div class="facts">last Authenticate {{.LastAuth}} · last cycle {{.LastCycle}}{{if .Duration}} (took {{.Duration}}, {{.CycleRows}} rows{{with .CycleFails}}, {{len .}} table(s) rolled back{{end}}){{end}} · {{.RowsHour}} rows in the last hour</div>
{{with .CallErr}}<div class="err">{{.Op}} call {{.ID}} failed {{.Ago}}: {{.Msg}}</div>{{end}}
{{range .Failing}}<div class="err">table {{.Name}} (LSN {{.LSN}}) rolled back {{.ErrAgo}}: {{.Err}}</div>{{end}}
{{if .Tables}}<details><summary>{{len .Tables}} table{{if ne (len .Tables) 1}}s{{end}}</summary><div class="wrap"><table>
<tr><th>table</th><th>LSN</th><th>last applied</th><th>rows</th></tr>
{{range .Tables}}<tr><td>{{.Name}}{{with .Wiped}} <span class="facts">(wiped {{.}})</span>{{end}}</td><td class="n">{{.LSN}}</td><td>{{.Applied}}</td><td class="n">{{.Rows}}</td></tr>
{{end}}</table></div></details>{{end}}
</div>
{{end}}
</section>
</body>
</html>
`))
