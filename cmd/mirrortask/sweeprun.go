package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/bulk/target"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
)

// sweepAppID is the application id of the sweep's own endpoint, trusted by nothing else.
const sweepAppID = "mirrortask-sweep"

// sweep is one run of mirrortask bench --sweep: a real engine and SOAP front end in this
// process for each setting, over loopback HTTP, into the user's target.
type sweep struct {
	s    sweepSettings
	spec target.Spec
	out  io.Writer

	work     string // temporary folder: keys and the source tenant
	verifier *auth.Verifier
	partner  *rsa.PrivateKey // signs the endpoint's Authenticate answers
	b        *bench
	tables   []schema.Table
	sp       *spool
}

// sweepTenant names the sweep's tenants. They are the same on every run, so that a target
// whose mirrors cannot be dropped here (SQL Server) reuses them instead of gathering more.
func sweepTenant(i int) string { return fmt.Sprintf("MirrordSweep_%d", i+1) }

func (sw *sweep) targetOptions(perTenant int) target.Options {
	return target.Options{NameTemplate: sw.s.dbName, MaxConnsPerTenant: int32(perTenant + 1), MSSQLCreateOptions: sw.s.mssqlCreate}
}

func (sw *sweep) run(ctx context.Context) error {
	s := &sw.s
	writers, err := sw.probeWriters(ctx)
	if err != nil {
		return err
	}
	// The probe made the first tenant's mirror: from here on the mirrors go whatever happens.
	if !s.keep {
		defer sw.cleanup()
	}
	if s.perTenant == nil {
		s.perTenant = []int{1, 2, 4, 8}
		if writers == 1 {
			s.perTenant = []int{1}
		}
	}
	room, roomNote, err := sw.connectionRoom(ctx)
	if err != nil {
		return err
	}
	var fits func(sweepSetting) bool
	if room > 0 {
		fits = func(st sweepSetting) bool { return connsNeeded(st, s.tenants) <= room }
	}
	grid, left := sweepGrid(s.perTenant, s.overall, s.tenants, fits)
	if len(grid) == 0 {
		return fmt.Errorf("no setting fits in the %d connections the target has free (%s): lower --tenants or --per-tenant, or give --max-connections", room, roomNote)
	}
	if s.parallel == 0 {
		// Four tables in flight, as mirrortask sync sends them, or more where a setting lets a
		// tenant apply more at once.
		s.parallel = max(4, slices.Max(s.perTenant))
	}

	if sw.work, err = os.MkdirTemp(s.spoolDir, "mirrortask-sweep-*"); err != nil {
		return err
	}
	defer os.RemoveAll(sw.work)
	if err := sw.prepareCalls(); err != nil {
		return err
	}
	if err := sw.load(ctx); err != nil {
		return err
	}
	defer sw.sp.remove()

	sw.describe(writers, roomNote, left)
	rows := sw.sp.rows()
	results := make([]sweepResult, len(grid))
	for i, st := range grid {
		results[i].sweepSetting = st
	}
	// Rounds go over every setting in turn, so that a change in the machine's load meets every
	// setting alike instead of one.
	for round := range s.repeat {
		for i := range results {
			r := &results[i]
			c, err := sw.measure(ctx, r.sweepSetting)
			if err != nil {
				return fmt.Errorf("per-tenant %d, max-applies %d: %w", r.perTenant, r.maxApplies, err)
			}
			r.rates = append(r.rates, c.rate)
			cpuText := "-"
			if c.cpu >= 0 {
				r.cpu = append(r.cpu, c.cpu)
				cpuText = fmt.Sprintf("%.2f", c.cpu.Seconds())
			}
			fmt.Fprintf(sw.out, "round %d/%d  per-tenant %d  max-applies %d: %d rows in %s, %.0f rows/s, cpu-s %s\n",
				round+1, s.repeat, r.perTenant, r.maxApplies, rows*int64(s.tenants), c.took.Round(time.Millisecond), c.rate, cpuText)
		}
	}
	printSweep(sw.out, s.tenants, results, s.tolerance)
	return nil
}

// describe says what the sweep measures, and what the target makes of the settings.
func (sw *sweep) describe(writers int, roomNote string, left []sweepSetting) {
	s := &sw.s
	rows := sw.sp.rows()
	fmt.Fprintf(sw.out, "sweep of %s: %d tenants (%s..%d) syncing at once, %d rows each over %d SuperOffice tables (%.0f bytes a row as sent), up to %d RowData calls in flight per tenant; each setting measured %d times, its median kept\n",
		sw.spec, s.tenants, sweepTenant(0), s.tenants, rows, len(sw.tables), float64(sw.sp.bytes)/float64(max(rows, 1)), s.parallel, s.repeat)
	if writers > 0 {
		what := fmt.Sprintf("at most %d tables", writers)
		if writers == 1 {
			what = "one table"
		}
		fmt.Fprintf(sw.out, "note: this target writes %s of a tenant at a time (SQLite: a file takes one writer), so mirrord runs no more applies per tenant whatever --max-applies-per-tenant says: per-tenant values above %d measure the same setting", what, writers)
		if slices.Max(s.perTenant) <= writers {
			fmt.Fprintf(sw.out, ", and only %s is measured", (*intList)(&s.perTenant))
		}
		fmt.Fprintln(sw.out, ". Per tenant matters on PostgreSQL and SQL Server.")
	}
	if roomNote != "" {
		fmt.Fprintf(sw.out, "connections: %s", roomNote)
		if len(left) > 0 {
			var names []string
			for _, st := range left {
				names = append(names, fmt.Sprintf("%d/%d", st.perTenant, st.maxApplies))
			}
			fmt.Fprintf(sw.out, "; left out (per-tenant/max-applies), needing more: %s", strings.Join(names, ", "))
		}
		fmt.Fprintln(sw.out)
	}
	if sw.spec.Kind == target.SQLite {
		fmt.Fprintln(sw.out, "cpu-s: CPU seconds of this process while the rows are sent: mirrord's engine and SOAP front end run in it, and so does SQLite")
	} else {
		fmt.Fprintln(sw.out, "cpu-s: CPU seconds of this process while the rows are sent: mirrord's engine and SOAP front end run in it; the database server's own CPU is not counted")
	}
}

// probeWriters opens the first sweep tenant's mirror and returns how many tables of a tenant it
// writes at once when it says (bulk.WriterLimiter), else 0. It fails early on a target that
// does not answer.
func (sw *sweep) probeWriters(ctx context.Context) (int, error) {
	tg, err := sw.spec.Open(ctx, sw.targetOptions(1))
	if err != nil {
		return 0, fmt.Errorf("open --target: %w", err)
	}
	defer tg.Close()
	m, err := tg.Open(ctx, sweepTenant(0))
	if err != nil {
		return 0, fmt.Errorf("open a sweep tenant's mirror on --target: %w", err)
	}
	if wl, ok := m.(bulk.WriterLimiter); ok && wl.MaxWriters() > 0 {
		return wl.MaxWriters(), nil
	}
	return 0, nil
}

// connectionRoom is how many connections the sweep may open on the target, 0 for no limit, and
// where the figure came from.
func (sw *sweep) connectionRoom(ctx context.Context) (int, string, error) {
	if sw.s.maxConns > 0 {
		return sw.s.maxConns, fmt.Sprintf("--max-connections %d", sw.s.maxConns), nil
	}
	switch sw.spec.Kind {
	case target.PostgreSQL:
		conn, err := pgx.Connect(ctx, sw.spec.DSN)
		if err != nil {
			return 0, "", fmt.Errorf("--target: read the connection limit: %w", err)
		}
		defer conn.Close(ctx)
		var maxConns, reserved, used int
		err = conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
			current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true), '0')::int,
			(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int`).Scan(&maxConns, &reserved, &used)
		if err != nil {
			return 0, "", fmt.Errorf("--target: read the connection limit: %w", err)
		}
		// This connection counts among the used, and is closed before the sweep opens its own.
		room := maxConns - reserved - used + 1
		return room, fmt.Sprintf("PostgreSQL has %d free (max_connections %d, %d reserved, %d in use by others); a setting may need --tenants x (per-tenant + 1) + 1", room, maxConns, reserved, used-1), nil
	case target.SQLServer:
		return 0, "SQL Server's limit is not read (32,767 sessions on a server; Azure SQL Database limits them by service objective): give --max-connections to keep the sweep within yours", nil
	}
	return 0, "", nil
}

// prepareCalls makes a throwaway SuperOffice certificate and partner key, which the sweep's
// endpoints trust and nothing else does, and the sending side that signs its tokens with them.
func (sw *sweep) prepareCalls() error {
	keys, err := auth.GenerateKeys(filepath.Join(sw.work, "keys"), auth.KeygenOptions{})
	if err != nil {
		return fmt.Errorf("make throwaway keys: %w", err)
	}
	sw.verifier = &auth.Verifier{AppID: sweepAppID}
	if err := sw.verifier.LoadCertificates(keys.SuperOfficeCert); err != nil {
		return err
	}
	partnerKey, err := auth.LoadPartnerKey(keys.PartnerXML)
	if err != nil {
		return err
	}
	partnerPub, err := auth.LoadPartnerPublicKey(keys.PartnerPublicPEM)
	if err != nil {
		return err
	}
	soKey, soCert, err := loadSigner(keys.SuperOfficeCert, keys.SuperOfficeKey)
	if err != nil {
		return err
	}
	sw.partner = partnerKey
	conns := sw.s.tenants*sw.s.parallel + 2
	tk := &task{
		appID: sweepAppID, soKey: soKey, soCert: soCert, partnerPub: partnerPub,
		batchBytes: sw.s.batchBytes, parallel: sw.s.parallel,
		client: &http.Client{Timeout: sw.s.timeout, Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
		}},
	}
	sw.b = &bench{s: benchSettings{tenants: sw.s.tenants, parallel: sw.s.parallel, batchBytes: sw.s.batchBytes, spoolDir: sw.s.spoolDir}, tk: tk, out: sw.out}
	for i := range sw.s.tenants {
		name := sweepTenant(i)
		sw.b.tenants = append(sw.b.tenants, &benchTenant{name: name, c: &client{task: tk, tenant: name}})
	}
	return nil
}

// load makes a synthetic SuperOffice tenant of about --rows rows and spools its whole content
// as RowData calls, which every sweep tenant then sends in each cycle.
func (sw *sweep) load(ctx context.Context) error {
	start := time.Now()
	src, err := tenant.Create(ctx, filepath.Join(sw.work, "source.db"), tenant.Config{Scale: sw.s.rows, Seed: sw.s.seed, Name: "MirrordSweepSource"})
	if err != nil {
		return err
	}
	defer src.Close()
	lsn, err := src.CurrentLSN(ctx)
	if err != nil {
		return err
	}
	sp, err := newSpool(sw.s.spoolDir)
	if err != nil {
		return err
	}
	sw.tables = src.Tables()
	if err := encodeTenant(ctx, sp, src, sw.tables, lsn, sw.s.batchBytes); err != nil {
		sp.remove()
		return err
	}
	sw.sp = sp
	fmt.Fprintf(sw.out, "made the load: %d rows, %d RowData calls, %.1f MB a tenant, in %s (not counted)\n",
		sp.rows(), sp.calls(), float64(sp.bytes)/1e6, time.Since(start).Round(time.Millisecond))
	return nil
}

// sweepCycle is what one measured cycle's RowData phase took.
type sweepCycle struct {
	rate float64 // rows per second
	took time.Duration
	cpu  time.Duration // of this process; negative where not measured
}

// measure runs one cycle of every sweep tenant at once through a fresh mirrord with the
// setting. Only the RowData phase is timed: Authenticate, TableSchema and Wipe come before it,
// ReplicationCompleted after.
func (sw *sweep) measure(ctx context.Context, st sweepSetting) (sweepCycle, error) {
	var none sweepCycle
	tg, err := sw.spec.Open(ctx, sw.targetOptions(st.perTenant))
	if err != nil {
		return none, fmt.Errorf("open --target: %w", err)
	}
	eng := engine.New(tg, engine.Options{MaxApplies: st.maxApplies, MaxAppliesPerTenant: st.perTenant, SpoolDir: sw.s.spoolDir, Wait: sw.s.timeout})
	defer eng.Close()
	soap, err := soapfront.New(eng, soapfront.Config{AppID: sweepAppID, Verifier: sw.verifier, PartnerKey: sw.partner, Build: "mirrortask-sweep"})
	if err != nil {
		return none, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return none, err
	}
	mux := http.NewServeMux()
	mux.Handle(soap.Path(), soap)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	sw.b.tk.urls = []string{"http://" + ln.Addr().String() + soap.Path()}
	defer sw.b.tk.client.CloseIdleConnections()

	if err := sw.b.prepare(ctx, sw.tables, true); err != nil {
		return none, err
	}
	cpu0, cpuOK := processCPU()
	res, err := sw.b.drive(ctx, sw.sp)
	cpu1, _ := processCPU()
	if err != nil {
		return none, err
	}
	if res.errors > 0 {
		return none, fmt.Errorf("%d of %d RowData calls failed, the first: %w", res.errors, res.calls, res.firstError)
	}
	if want := sw.sp.rows() * int64(sw.s.tenants); res.rows != want {
		return none, fmt.Errorf("mirrord took %d rows of the %d sent", res.rows, want)
	}
	if err := sw.b.complete(ctx); err != nil {
		return none, err
	}
	cycle := sweepCycle{rate: res.rowsPerSecond(), took: res.took, cpu: -1}
	if cpuOK {
		cycle.cpu = cpu1 - cpu0
	}
	return cycle, nil
}

// cleanup drops the sweep tenants' mirrors: SQLite's files, PostgreSQL's databases. SQL Server's
// are emptied and kept, since the target has no way here to drop a database; the next sweep
// reuses them.
func (sw *sweep) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	warn := func(err error) {
		fmt.Fprintf(sw.out, "warning: removing the sweep's mirrors: %v\n", err)
	}
	tg, err := sw.spec.Open(ctx, sw.targetOptions(1))
	if err != nil {
		warn(err)
		return
	}
	var names []string
	var errs []error
	for i := range sw.s.tenants {
		tenantName := sweepTenant(i)
		switch t := tg.(type) {
		case *sqlite.Target:
			path, err := t.Path(tenantName)
			errs = append(errs, err)
			names = append(names, path)
		case *pgsql.Target:
			db, err := t.DatabaseName(tenantName)
			errs = append(errs, err)
			names = append(names, db)
		default:
			m, err := tg.Open(ctx, tenantName)
			if err == nil {
				var tables []string
				for _, tb := range sw.tables {
					tables = append(tables, tb.Name)
				}
				err = m.Wipe(ctx, tables)
			}
			errs = append(errs, err)
		}
	}
	errs = append(errs, tg.Close())
	switch sw.spec.Kind {
	case target.SQLite:
		for _, path := range names {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
	case target.PostgreSQL:
		errs = append(errs, dropDatabases(ctx, sw.spec.DSN, names))
	default:
		fmt.Fprintf(sw.out, "the sweep tenants' mirrors (%s..%d) are kept, emptied; the next sweep reuses them\n", sweepTenant(0), sw.s.tenants)
	}
	if err := errors.Join(errs...); err != nil {
		warn(err)
	}
}

// encodeTenant spools every row of the tenant's tables, table by table, each table's last call
// carrying lsn.
func encodeTenant(ctx context.Context, sp *spool, src *tenant.Tenant, tables []schema.Table, lsn int64, batchBytes int) error {
	var buf bytes.Buffer
	for _, tb := range tables {
		rows := func(emit rowEmitter) error {
			it, err := src.AllRows(ctx, tb.Name)
			if err != nil {
				return err
			}
			defer it.Close()
			for it.Next() {
				row := it.Row()
				if err := emit(row.Op, row.LSN, row.Values); err != nil {
					return err
				}
			}
			return it.Err()
		}
		calls, err := sp.encodeTable(&buf, tb, rows, lsn, batchBytes)
		if err != nil {
			return fmt.Errorf("encoding table %s: %w", tb.Name, err)
		}
		sp.tables = append(sp.tables, calls)
	}
	return nil
}
