package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/soapfront/wire"
)

// metricSources are the files that create every metric of mirrord's own; metrics.WriteProcessMetrics
// adds the process_* and go_* ones.
var metricSources = []string{"soapfront/metrics.go", "soapfront/skipped.go", "cmd/mirrord/spoolmetrics.go"}

// catalog is what mirrord exports, as read from its source.
type catalog struct {
	kinds   map[string]string          // metric name -> Counter, Gauge, Histogram, ...
	labels  map[string]bool            // every label name mirrord's metrics carry
	values  map[string]map[string]bool // label -> its fixed set of values, where it has one
	process map[string]bool            // names metrics.WriteProcessMetrics writes here
}

var (
	reMetricName = regexp.MustCompile("`(mirrord_[a-zA-Z0-9_:]+)")
	reKind       = regexp.MustCompile(`(?:GetOrCreate|New)(Counter|FloatCounter|Gauge|Histogram|PrometheusHistogram|Summary)\(`)
	reLabel      = regexp.MustCompile("[{,`]([a-z_]+)=(?:%q|\")")
	reOutcome    = regexp.MustCompile(`outcome[A-Z]\w*\s*=\s*"([a-z_]+)"`)
	reOpUnknown  = regexp.MustCompile(`opUnknown\s*=\s*"([a-zA-Z_]+)"`)
	reRowOp      = regexp.MustCompile(`op="([a-z_]+)"`)
)

// readCatalog lists mirrord's metrics from the Go files that define them, so that a metric
// renamed there fails these tests until the dashboard and the alerts follow.
func readCatalog(t *testing.T) catalog {
	t.Helper()
	c := catalog{kinds: map[string]string{}, labels: map[string]bool{}, values: map[string]map[string]bool{}}
	var all strings.Builder
	for _, f := range metricSources {
		src := readFile(t, f)
		all.WriteString(src)
		for n, line := range strings.Split(src, "\n") {
			names := reMetricName.FindAllStringSubmatch(line, -1)
			if len(names) == 0 {
				continue
			}
			kind := reKind.FindStringSubmatch(line)
			if kind == nil {
				t.Fatalf("%s:%d: cannot tell what kind of metric %s is (no GetOrCreate… or New… on its line)", f, n+1, names[0][1])
			}
			for _, m := range names {
				c.kinds[m[1]] = kind[1]
			}
		}
	}
	src := all.String()
	for _, m := range reLabel.FindAllStringSubmatch(src, -1) {
		c.labels[m[1]] = true
	}
	set := func(label string, vs ...string) {
		if c.values[label] == nil {
			c.values[label] = map[string]bool{}
		}
		for _, v := range vs {
			c.values[label][v] = true
		}
	}
	for _, m := range reOutcome.FindAllStringSubmatch(src, -1) {
		set("outcome", m[1])
	}
	for _, m := range reRowOp.FindAllStringSubmatch(src, -1) {
		set("op", m[1])
	}
	set("operation", wire.Operations...)
	if m := reOpUnknown.FindStringSubmatch(readFile(t, "soapfront/metrics.go")); m != nil {
		set("operation", m[1])
	}
	// The source must still look the way this reader expects: a handful of metrics, the calls
	// metric's outcomes and the rows metric's ops. Otherwise every check below would be empty.
	if len(c.kinds) < 8 || len(c.values["outcome"]) < 4 || len(c.values["op"]) != 3 || !c.labels["tenant"] {
		t.Fatalf("read %d metrics, outcomes %v, ops %v, labels %v from %v: the reader no longer fits the source",
			len(c.kinds), keys(c.values["outcome"]), keys(c.values["op"]), keys(c.labels), metricSources)
	}

	var buf bytes.Buffer
	metrics.WriteProcessMetrics(&buf)
	c.process = map[string]bool{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			c.process[line[:i]] = true
		}
	}
	return c
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// known reports whether name is a series mirrord exports (with the histogram suffixes), and the
// kind of the metric it belongs to.
func (c catalog) known(name string) (kind string, ok bool) {
	if k, ok := c.kinds[name]; ok {
		return k, !strings.Contains(k, "Histogram")
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, found := strings.CutSuffix(name, suffix); found {
			if k := c.kinds[base]; strings.Contains(k, "Histogram") {
				return k, true
			}
		}
	}
	if c.process[name] {
		return "process", true
	}
	// Off Linux the process metrics are fewer; accept their prefixes there.
	if runtime.GOOS != "linux" && (strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_")) {
		return "process", true
	}
	return "", false
}

var plainAlternatives = regexp.MustCompile(`^[A-Za-z_]+(\|[A-Za-z_]+)*$`)

// checkExpr checks that expr selects only series mirrord exports (or one of external), with label
// names they carry and, for labels of a fixed set, values they take.
func (c catalog) checkExpr(expr string, external map[string]bool) []string {
	sc, err := scanPromQL(expr)
	if err != nil {
		return []string{fmt.Sprintf("cannot read %q: %v", expr, err)}
	}
	var problems []string
	sawVMBuckets, sawPromBuckets := false, false
	for _, sel := range sc.selectors {
		if sel.name == "" {
			problems = append(problems, fmt.Sprintf("a selector without a metric name in %q", expr))
			continue
		}
		if external[sel.name] {
			continue
		}
		kind, ok := c.known(sel.name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is not a metric mirrord exports (in %q)", sel.name, expr))
			continue
		}
		if strings.HasSuffix(sel.name, "_bucket") {
			sawVMBuckets = sawVMBuckets || kind == "Histogram"
			sawPromBuckets = sawPromBuckets || kind == "PrometheusHistogram"
		}
		if kind == "process" {
			continue
		}
		for _, m := range sel.matchers {
			if !c.labels[m.label] && m.label != "job" && m.label != "instance" {
				problems = append(problems, fmt.Sprintf("%s has no label %s (in %q)", sel.name, m.label, expr))
				continue
			}
			allowed := c.values[m.label]
			if allowed == nil || strings.Contains(m.value, "$") {
				continue
			}
			var vs []string
			switch {
			case m.op == "=" || m.op == "!=":
				vs = []string{m.value}
			case plainAlternatives.MatchString(m.value):
				vs = strings.Split(m.value, "|")
			}
			for _, v := range vs {
				if !allowed[v] {
					problems = append(problems, fmt.Sprintf("%s{%s} never takes the value %q (it takes %v) (in %q)", sel.name, m.label, v, keys(allowed), expr))
				}
			}
		}
	}
	for _, l := range sc.grouping {
		if c.labels[l] || l == "job" || l == "instance" || l == "vmrange" && sawVMBuckets || l == "le" && sawPromBuckets {
			continue
		}
		problems = append(problems, fmt.Sprintf("groups by %s, which no series of it carries (in %q)", l, expr))
	}
	// VictoriaMetrics histograms have vmrange buckets, Prometheus ones le buckets: a quantile must
	// group by the one the histogram has.
	if sawVMBuckets && !slices.Contains(sc.grouping, "vmrange") {
		problems = append(problems, fmt.Sprintf("uses vmrange buckets without grouping by vmrange (in %q)", expr))
	}
	if sawPromBuckets && !slices.Contains(sc.grouping, "le") {
		problems = append(problems, fmt.Sprintf("uses le buckets without grouping by le (in %q)", expr))
	}
	return problems
}

func TestCatalogReader(t *testing.T) {
	c := readCatalog(t)
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{`sum by (outcome) (rate(mirrord_soap_calls_total{outcome="server_fault"}[5m]))`, true},
		{`rate(mirrord_soap_calls_totl[5m])`, false},
		{`mirrord_soap_calls_total{outcome="servr_fault"}`, false},
		{`mirrord_soap_calls_total{outcome=~"ok|parital"}`, false},
		{`mirrord_soap_calls_total{operation="ReplicationCompleted"}`, true},
		{`mirrord_soap_calls_total{operation="ReplicationComplete"}`, false},
		{`mirrord_rows_total{tenant=~"$tenant",op="inserted"}`, true},
		{`mirrord_rows_total{tennant="x"}`, false},
		{`sum by (tennant) (mirrord_rows_total)`, false},
		{`histogram_quantile(0.9, sum by (vmrange) (rate(mirrord_rowdata_apply_duration_seconds_bucket[5m])))`, true},
		{`histogram_quantile(0.9, sum by (le) (rate(mirrord_rowdata_apply_duration_seconds_bucket[5m])))`, false},
		{`mirrord_rowdata_apply_duration_seconds_total`, false},
		{`process_resident_memory_bytes + go_goroutines`, true},
		{`probe_success == 0`, false},
		{`{__name__="mirrord_rows_total"}`, false},
	} {
		problems := c.checkExpr(tc.expr, nil)
		if (len(problems) == 0) != tc.ok {
			t.Errorf("%s: want ok=%v, got %v", tc.expr, tc.ok, problems)
		}
	}
}

// dashboard is the part of Grafana's dashboard model these tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(readFile(t, "deploy/grafana/mirrord.json")))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("deploy/grafana/mirrord.json: %v", err)
	}
	return d
}

// dashboardQueries returns every PromQL query of the dashboard, named by where it is: panel
// targets and the selectors of label_values() variables.
func dashboardQueries(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	qs := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs[fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct{ Query string }
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("variable %s: query is neither a string nor {query}: %s", v.Name, v.Query)
			}
			q = obj.Query
		}
		m := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_]+)\)$`).FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, q)
			continue
		}
		qs["variable "+v.Name] = m[1]
		qs["variable "+v.Name+" label"] = fmt.Sprintf("sum by (%s) (%s)", m[2], m[1])
	}
	return qs
}

func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	c := readCatalog(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are needed to import and link the dashboard", d.UID, d.Title)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: want that of a current Grafana (39 or later)", d.SchemaVersion)
	}

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
			t.Errorf("variable %s does not query ${datasource}", v.Name)
		}
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("no datasource variable of type datasource (variables: %v)", vars)
	}
	if vars["tenant"] != "query" {
		t.Errorf("no tenant query variable (variables: %v)", vars)
	}

	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d is used twice", p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %d %q: gridPos %+v is off the 24-column grid", p.ID, p.Title, g)
			}
			if p.Type != "row" {
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %d %q does not use ${datasource}", p.ID, p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %d %q has no query", p.ID, p.Title)
				}
				for _, tg := range p.Targets {
					if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
						t.Errorf("panel %d %q target %s does not use ${datasource}", p.ID, p.Title, tg.RefID)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)

	used := map[string]bool{}
	for where, q := range dashboardQueries(t, d) {
		for _, p := range c.checkExpr(q, nil) {
			t.Errorf("%s: %s", where, p)
		}
		sc, _ := scanPromQL(q)
		for _, s := range sc.selectors {
			used[s.name] = true
		}
	}
	// What the dashboard is for: calls by outcome, rows by tenant, apply latency, bytes and calls
	// in flight, tenants behind, skipped wire elements.
	for _, want := range []string{
		"mirrord_soap_calls_total", "mirrord_rows_total", "mirrord_rowdata_apply_duration_seconds_bucket",
		"mirrord_soap_request_bytes_inflight", "mirrord_soap_calls_inflight", "mirrord_wire_skipped_total",
	} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// alertExprs reads the expr of every rule in a Prometheus rules file: a plain scalar, or a
// folded or literal block. It reads only this shape of YAML; promtool reads the rest.
func alertExprs(t *testing.T, path string) map[string]string {
	t.Helper()
	lines := strings.Split(readFile(t, path), "\n")
	exprs := map[string]string{}
	rules, name := 0, ""
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(trimmed, "- alert:"), strings.HasPrefix(trimmed, "- record:"):
			rules++
			_, name, _ = strings.Cut(trimmed, ":")
			name = strings.TrimSpace(name)
		case strings.HasPrefix(trimmed, "expr:"):
			v := strings.TrimSpace(strings.TrimPrefix(trimmed, "expr:"))
			if strings.HasPrefix(v, ">") || strings.HasPrefix(v, "|") {
				var block []string
				base := indent(lines[i])
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indent(lines[i+1]) > base) {
					i++
					block = append(block, strings.TrimSpace(lines[i]))
				}
				v = strings.Join(block, "\n")
			}
			if _, dup := exprs[name]; dup || name == "" {
				t.Fatalf("%s: an expr outside a rule, or a rule %q named twice", path, name)
			}
			exprs[name] = strings.Trim(v, `"'`)
		}
	}
	if len(exprs) != rules || rules == 0 {
		t.Fatalf("%s: read %d exprs of %d rules", path, len(exprs), rules)
	}
	return exprs
}

func TestAlertMetrics(t *testing.T) {
	c := readCatalog(t)
	// Series that are not mirrord's: Prometheus's own scrape health, and the blackbox exporter's
	// probe of /readyz (job mirrord-readyz).
	external := map[string]bool{"up": true, "probe_success": true}
	exprs := alertExprs(t, "deploy/prometheus/alerts.yml")
	for name, expr := range exprs {
		for _, p := range c.checkExpr(expr, external) {
			t.Errorf("alert %s: %s", name, p)
		}
	}
	for _, want := range []string{"MirrordNoCycleCompleted", "MirrordServerFaults", "MirrordNotReady"} {
		if _, ok := exprs[want]; !ok {
			t.Errorf("no alert %s", want)
		}
	}
}

// TestRulesPromtool loads the rules, their unit tests and the example scrape configuration in
// promtool, and parses every dashboard query by loading it as a recording rule.
func TestRulesPromtool(t *testing.T) {
	promtool := lookTool(t, "promtool", "the rules, their unit tests, scrape.yml and the syntax of the dashboard's queries are not checked (make tools installs promtool, as root, where apt-get can)")
	dir := filepath.Join(root, "deploy", "prometheus")
	run(t, dir, nil, promtool, "check", "rules", "alerts.yml")
	run(t, dir, nil, promtool, "test", "rules", "alerts_test.yml")
	run(t, dir, nil, promtool, "check", "config", "scrape.yml")

	// Grafana's variables become values PromQL accepts.
	grafana := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	qs := dashboardQueries(t, readDashboard(t))
	for i, where := range keys(qs) {
		expr, err := json.Marshal(grafana.Replace(qs[where]))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rules, "      # %s\n      - record: dashboard:query_%d\n        expr: %s\n", where, i, expr)
	}
	f := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
	if err != nil {
		// Name the queries promtool refused.
		for _, m := range regexp.MustCompile(`dashboard:query_(\d+)`).FindAllStringSubmatch(string(out), -1) {
			i, _ := strconv.Atoi(m[1])
			t.Errorf("%s: %q does not parse", keys(qs)[i], qs[keys(qs)[i]])
		}
		t.Fatalf("promtool check rules of the dashboard's queries: %v\n%s", err, out)
	}
}
