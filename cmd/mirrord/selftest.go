package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// selfTestTenant is the tenant the self-test mirrors. Its database (Mirror_mirrord_self_test
// with the default --db-name) is kept, emptied, for the next self-test.
const selfTestTenant = "mirrord_self_test"

// selfTestTable is the table the self-test mirrors: a column of each common family.
var selfTestTable = schema.Table{Name: "mirrord_self_test", Columns: []schema.Column{
	{Name: "id", Type: schema.Int, PrimaryKey: true},
	{Name: "name", Type: schema.NVarChar, Length: 50, Nullable: true},
	{Name: "amount", Type: schema.Decimal, Precision: 12, Scale: 2, Nullable: true},
	{Name: "changed", Type: schema.DateTime2, Scale: 7, Nullable: true},
	{Name: "active", Type: schema.Bit, Nullable: true},
	{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true},
}}

const (
	selfTestRows    = 1000
	selfTestChanged = 10 // rows updated, and as many deleted, by the second RowData
)

// selfTest runs a whole mirroring cycle (Authenticate, TableSchema, Wipe, two RowData calls,
// ReplicationCompleted) over HTTP on loopback, through the endpoint serve runs, into the real
// target, and checks the answers and the mirror's rows. Its tokens are signed by a key made for
// it and trusted only by the in-process endpoint it starts: serve never trusts it.
func (c *checker) selfTest(ctx context.Context, f *serveFlags) {
	detail, err := runSelfTest(ctx, f)
	c.report("self-test", err, detail)
}

func runSelfTest(ctx context.Context, f *serveFlags) (string, error) {
	partnerKey, err := auth.LoadPartnerKey(f.partnerKey)
	if err != nil {
		return "", fmt.Errorf("needs the partner key: %w", err)
	}
	dir, err := os.MkdirTemp("", "mirrord-self-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	keys, err := auth.GenerateKeys(dir, auth.KeygenOptions{})
	if err != nil {
		return "", fmt.Errorf("make a throwaway signing key: %w", err)
	}
	soKey, err := auth.LoadPartnerKey(keys.SuperOfficeKey)
	if err != nil {
		return "", err
	}
	soCerts, err := auth.ReadCertificates(keys.SuperOfficeCert)
	if err != nil {
		return "", err
	}
	appID := f.appID
	if appID == "" {
		appID = "mirrord-self-test"
	}
	verifier := &auth.Verifier{AppID: appID}
	if err := verifier.SetCertificates(soCerts...); err != nil {
		return "", err
	}

	target, _, err := f.target.open(ctx)
	if err != nil {
		return "", fmt.Errorf("open the target: %w", err)
	}
	defer target.Close()
	eng := engine.New(target, engine.Options{SpoolDir: f.spoolDir, Wait: time.Minute})
	defer eng.Close()
	soap, err := soapfront.New(eng, soapfront.Config{AppID: appID, Verifier: verifier, PartnerKey: partnerKey, Build: "mirrord-self-test"})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle(soap.Path(), soap)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	cl := &selfTestClient{url: "http://" + ln.Addr().String() + soap.Path(), token: func() (string, error) {
		return auth.IssueToken(soKey, soCerts[0], auth.IssueClaims{AppID: appID, Tenant: selfTestTenant})
	}}
	began := time.Now()
	if err := cl.cycle(ctx); err != nil {
		return "", err
	}
	took := time.Since(began)

	m, err := target.Open(ctx, selfTestTenant)
	if err != nil {
		return "", err
	}
	rows, err := m.RowCount(ctx, selfTestTable.Name)
	if err != nil {
		return "", fmt.Errorf("count the mirrored rows: %w", err)
	}
	if want := int64(selfTestRows - selfTestChanged); rows != want {
		return "", fmt.Errorf("the mirror holds %d rows after the cycle, want %d: the target lost or kept rows while answering success", rows, want)
	}
	if err := checkSelfTestRows(ctx, m); err != nil {
		return "", err
	}
	if err := m.Wipe(ctx, []string{selfTestTable.Name}); err != nil {
		return "", fmt.Errorf("empty the self-test table: %w", err)
	}
	return fmt.Sprintf("a whole cycle through %s in %s: %d rows inserted, %d updated, %d deleted, and every row read back; tenant %s's mirror is kept, empty",
		cl.url, took.Round(time.Millisecond), selfTestRows, selfTestChanged, selfTestChanged, selfTestTenant), nil
}

// selfTestClient sends the self-test's calls as SuperOffice's Task would.
type selfTestClient struct {
	url   string
	token func() (string, error)
}

func (cl *selfTestClient) cycle(ctx context.Context) error {
	state := "self-test"
	auth, err := call(ctx, cl, wire.OpAuthenticate, func(w io.Writer, tok string) error {
		return wire.WriteAuthenticateRequest(w, tok, wire.AuthenticateRequest{ClientState: state})
	}, wire.ReadAuthenticateResponse)
	if err != nil {
		return err
	}
	if !auth.IsSuccessful {
		return fmt.Errorf("Authenticate answered no: %s", auth.ErrorMessage)
	}
	if auth.AdditionalInformationJson != "" {
		return fmt.Errorf("Authenticate answered %s: is %s paused?", auth.AdditionalInformationJson, selfTestTenant)
	}
	ts, err := call(ctx, cl, wire.OpTableSchema, func(w io.Writer, tok string) error {
		return wire.WriteTableSchemaRequest(w, tok, wire.TableSchemaRequest{ClientState: state, Tables: []schema.Table{selfTestTable}})
	}, wire.ReadTableSchemaResponse)
	if err != nil {
		return err
	}
	if len(ts.Tables) != 1 || ts.Tables[0].Name != selfTestTable.Name {
		return fmt.Errorf("TableSchema answered %+v", ts.Tables)
	}
	if _, err := call(ctx, cl, wire.OpWipe, func(w io.Writer, tok string) error {
		return wire.WriteWipeRequest(w, tok, wire.WipeRequest{ClientState: state, Tables: []string{selfTestTable.Name}})
	}, wire.ReadWipeResponse); err != nil {
		return err
	}

	first := func(rw *wire.RowDataWriter) error {
		for id := 1; id <= selfTestRows; id++ {
			if err := rw.Row(bulk.Insert, int64(id), selfTestValues(id, "row")...); err != nil {
				return err
			}
		}
		return rw.EndLSN(selfTestRows)
	}
	second := func(rw *wire.RowDataWriter) error {
		lsn := int64(selfTestRows)
		for id := 1; id <= selfTestChanged; id++ {
			lsn++
			if err := rw.Row(bulk.Update, lsn, selfTestValues(id, "changed")...); err != nil {
				return err
			}
		}
		for id := selfTestRows - selfTestChanged + 1; id <= selfTestRows; id++ {
			lsn++
			if err := rw.Row(bulk.Delete, lsn, selfTestValues(id, "gone")...); err != nil {
				return err
			}
		}
		return rw.EndLSN(lsn)
	}
	for i, rows := range []func(*wire.RowDataWriter) error{first, second} {
		rd, err := call(ctx, cl, wire.OpRowData, func(w io.Writer, tok string) error {
			rw := wire.NewRowDataWriter(w, tok, state)
			if err := rw.Begin(selfTestTable.Name, selfTestTable.Columns); err != nil {
				return err
			}
			if err := rows(rw); err != nil {
				return err
			}
			return rw.Close()
		}, wire.ReadRowDataResponse)
		if err != nil {
			return err
		}
		if len(rd.Tables) != 1 || rd.Tables[0].ErrorMessage != "" {
			return fmt.Errorf("RowData %d answered %+v", i+1, rd.Tables)
		}
	}
	done, err := call(ctx, cl, wire.OpReplicationCompleted, func(w io.Writer, tok string) error {
		return wire.WriteReplicationCompletedRequest(w, tok, wire.ReplicationCompletedRequest{ClientState: state})
	}, wire.ReadReplicationCompletedResponse)
	if err != nil {
		return err
	}
	for _, s := range done.Summary {
		if s.Name == selfTestTable.Name {
			if s.Inserted != selfTestRows || s.Updated != selfTestChanged || s.Deleted != selfTestChanged {
				return fmt.Errorf("ReplicationCompleted counted %d inserted, %d updated, %d deleted; want %d, %d, %d",
					s.Inserted, s.Updated, s.Deleted, selfTestRows, selfTestChanged, selfTestChanged)
			}
			return nil
		}
	}
	return fmt.Errorf("ReplicationCompleted's summary lacks %s: %+v", selfTestTable.Name, done.Summary)
}

func selfTestValues(id int, name string) []any {
	var guid bulk.UUID
	guid[15] = byte(id)
	guid[14] = byte(id >> 8)
	return []any{int64(id), fmt.Sprintf("%s %d ÆØÅ", name, id), bulk.Decimal(fmt.Sprintf("%d.25", id)),
		time.Date(2026, 12, 1, 12, 0, 0, id*100, time.UTC), id%2 == 0, guid}
}

// call posts one operation's request and reads its answer; a fault or an HTTP error is an error.
func call[T any](ctx context.Context, cl *selfTestClient, op string, write func(io.Writer, string) error, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	tok, err := cl.token()
	if err != nil {
		return zero, err
	}
	var body bytes.Buffer
	if err := write(&body, tok); err != nil {
		return zero, fmt.Errorf("%s: write the request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.url, &body)
	if err != nil {
		return zero, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(op)+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return zero, fmt.Errorf("%s: read the answer: %w", op, err)
	}
	got, err := read(bytes.NewReader(out))
	if err != nil {
		var fault *wire.Fault
		if errors.As(err, &fault) {
			return zero, fmt.Errorf("%s answered a fault (%s): %s", op, fault.Code, fault.Message)
		}
		return zero, fmt.Errorf("%s answered %d: %w", op, resp.StatusCode, err)
	}
	return got, nil
}

// checkSelfTestRows reads the self-test table back through the mirror's Inspector and compares
// every row with what the cycle sent: the first rows updated, the last deleted, the rest as
// inserted.
func checkSelfTestRows(ctx context.Context, m bulk.Mirror) error {
	in, ok := m.(bulk.Inspector)
	if !ok {
		return fmt.Errorf("the mirror (%T) cannot be read back", m)
	}
	id := 0
	err := in.ReadRows(ctx, selfTestTable, func(values []any) error {
		id++
		name := "row"
		if id <= selfTestChanged {
			name = "changed"
		}
		want := selfTestValues(id, name)
		for i, c := range selfTestTable.Columns {
			if !bulk.EqualValues(in.Kept(c, want[i]), values[i]) {
				return fmt.Errorf("row %d, column %s reads back as %#v, but %#v was sent", id, c.Name, values[i], want[i])
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the mirror back: %w", err)
	}
	if want := selfTestRows - selfTestChanged; id != want {
		return fmt.Errorf("read back %d rows, want %d", id, want)
	}
	return nil
}
