package target

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Route sends the tenants whose context identifier matches Pattern to the target Spec, with
// their mirror databases named by NameTemplate.
type Route struct {
	// Pattern is a glob over the context identifier (path.Match: * any run, ? one character,
	// [a-z] a class); "*" matches every tenant.
	Pattern string
	Spec    Spec
	// NameTemplate names the tenant's mirror, {ctx} standing for the tenant; empty takes the
	// Router's default.
	NameTemplate string
	// Where is the route's place in its file ("routes.txt:3"), for messages.
	Where string
}

// ReadRoutes reads a routes file: one route a line, "PATTERN TARGET [DB-NAME-TEMPLATE]",
// separated by spaces; blank lines and lines starting with # are ignored. The first route whose
// pattern matches a tenant is its route.
func ReadRoutes(file string) ([]Route, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--routes: %w", err)
	}
	defer f.Close()
	return ParseRoutes(f, file)
}

// ParseRoutes reads routes from r; name names it in errors.
func ParseRoutes(r io.Reader, name string) ([]Route, error) {
	var routes []Route
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, n)
		fields := strings.Fields(line)
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("routes %s: want PATTERN TARGET [DB-NAME-TEMPLATE], got %d fields", where, len(fields))
		}
		if _, err := path.Match(fields[0], ""); err != nil {
			return nil, fmt.Errorf("routes %s: pattern %q: %w", where, fields[0], err)
		}
		spec, err := Parse(fields[1])
		if err != nil {
			return nil, fmt.Errorf("routes %s: %w", where, err)
		}
		route := Route{Pattern: fields[0], Spec: spec, Where: where}
		if len(fields) == 3 {
			if !strings.Contains(fields[2], "{ctx}") {
				return nil, fmt.Errorf("routes %s: database name template %q must contain {ctx}", where, fields[2])
			}
			route.NameTemplate = fields[2]
		}
		routes = append(routes, route)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("routes %s: %w", name, err)
	}
	return routes, nil
}

// Router is a bulk.Target that opens each tenant's mirror on the target of the first route the
// tenant matches, or on its fallback when none does. It opens a route's target when a tenant
// first needs it, and shares it between routes that name the same target and template.
//
// SetRoutes replaces the routes for the tenants first opened from then on; a tenant opened
// before stays on its route until the Router is made anew (mirrord restarts), even when its
// mirror is opened again after an error: otherwise one failed read after a reload moved a tenant
// mid-cycle to a new, empty mirror on the other target. mirrord copies no data between targets:
// moving a tenant is the operator's move.
type Router struct {
	opts     Options
	fallback Route

	mu      sync.Mutex
	routes  []Route
	targets map[string]bulk.Target // by routeKey
	pinned  map[string]Route       // by tenant: the route it was first opened on
}

var (
	_ bulk.Target  = (*Router)(nil)
	_ bulk.Locator = (*Router)(nil)
	_ bulk.Checker = (*Router)(nil)
)

// NewRouter returns a Router over routes, with fallback for the tenants no route matches. opts
// is how each target is opened; a route's NameTemplate, when set, replaces opts.NameTemplate.
func NewRouter(routes []Route, fallback Route, opts Options) *Router {
	return &Router{opts: opts, fallback: fallback, routes: routes, targets: map[string]bulk.Target{}, pinned: map[string]Route{}}
}

// SetRoutes replaces the routes; see Router.
func (r *Router) SetRoutes(routes []Route) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = routes
}

// Route returns the route of tenant: the one it was first opened on, or else the first that
// matches it.
func (r *Router) Route(tenant string) Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	if route, ok := r.pinned[tenant]; ok {
		return route
	}
	for _, route := range r.routes {
		if ok, _ := path.Match(route.Pattern, tenant); ok {
			return route
		}
	}
	return r.fallback
}

func (r *Router) templateOf(route Route) string {
	if route.NameTemplate != "" {
		return route.NameTemplate
	}
	return r.opts.NameTemplate
}

func routeKey(spec Spec, template string) string {
	return string(spec.Kind) + "\x00" + spec.Dir + "\x00" + spec.DSN + "\x00" + template
}

// target returns the opened target of route, opening it first if need be.
func (r *Router) target(ctx context.Context, route Route) (bulk.Target, error) {
	template := r.templateOf(route)
	key := routeKey(route.Spec, template)
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.targets[key]; t != nil {
		return t, nil
	}
	opts := r.opts
	opts.NameTemplate = template
	t, err := route.Spec.Open(ctx, opts)
	if err != nil {
		where := ""
		if route.Where != "" {
			where = " (route " + route.Where + ")"
		}
		return nil, fmt.Errorf("open %s%s: %w", route.Spec, where, err)
	}
	r.targets[key] = t
	return t, nil
}

// Open opens the tenant's mirror on its route's target.
func (r *Router) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	if err := schema.CheckName("tenant", tenant); err != nil {
		return nil, err
	}
	route := r.Route(tenant)
	t, err := r.target(ctx, route)
	if err != nil {
		return nil, err
	}
	m, err := t.Open(ctx, tenant)
	if err == nil {
		r.mu.Lock()
		if _, ok := r.pinned[tenant]; !ok {
			r.pinned[tenant] = route
		}
		r.mu.Unlock()
	}
	return m, err
}

// Locate says where the tenant's mirror is on its route's target.
func (r *Router) Locate(ctx context.Context, tenant string) (string, bool, error) {
	t, err := r.target(ctx, r.Route(tenant))
	if err != nil {
		return "", false, err
	}
	l, ok := t.(bulk.Locator)
	if !ok {
		return "", false, fmt.Errorf("target %T cannot locate a mirror", t)
	}
	return l.Locate(ctx, tenant)
}

// all opens the target of every route and the fallback.
func (r *Router) all(ctx context.Context) ([]Route, []bulk.Target, error) {
	r.mu.Lock()
	routes := append(append([]Route(nil), r.routes...), r.fallback)
	r.mu.Unlock()
	seen := map[string]bool{}
	var used []Route
	var targets []bulk.Target
	var errs []error
	for _, route := range routes {
		key := routeKey(route.Spec, r.templateOf(route))
		if seen[key] {
			continue
		}
		seen[key] = true
		t, err := r.target(ctx, route)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		used, targets = append(used, route), append(targets, t)
	}
	return used, targets, errors.Join(errs...)
}

// Ping reports whether every route's target answers.
func (r *Router) Ping(ctx context.Context) error {
	routes, targets, err := r.all(ctx)
	if err != nil {
		return err
	}
	for i, t := range targets {
		if err := t.Ping(ctx); err != nil {
			return fmt.Errorf("%s: %w", routes[i].Spec, err)
		}
	}
	return nil
}

// Check runs the checks of every route's target, each named by its target.
func (r *Router) Check(ctx context.Context) []bulk.Check {
	routes, targets, err := r.all(ctx)
	var out []bulk.Check
	if err != nil {
		out = append(out, bulk.Check{Name: "routes", Detail: err.Error()})
	}
	for i, t := range targets {
		out = append(out, bulk.Check{Name: "target", OK: true, Detail: routes[i].Spec.String()})
		if c, ok := t.(bulk.Checker); ok {
			out = append(out, c.Check(ctx)...)
		}
	}
	return out
}

// Close closes every target the Router opened.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for key, t := range r.targets {
		errs = append(errs, t.Close())
		delete(r.targets, key)
	}
	return errors.Join(errs...)
}
