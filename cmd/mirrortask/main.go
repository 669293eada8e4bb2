// Command mirrortask plays SuperOffice's Mirroring Task against any mirrord URL, from a synthetic source tenant it creates and changes, and proves the mirror equal to the source.
//
// Its bench command measures mirrord; with --sweep it runs mirrord's engine and endpoint in its own
// process against a target, to find the worker counts that suit the target's hardware.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mirrord/mirrord/bench/tenant"
)

const usage = `mirrortask plays SuperOffice's Mirroring Task against a mirrord URL.

Usage:
  mirrortask init    --source F --scale N --seed S [--tenant Cust1] [--retention V]
  mirrortask change  --source F --seed S --changes N [--retention V]
  mirrortask alter   --source F --kind add-column|widen-column|change-type|add-table|drop-table
  mirrortask backup  --source F --to B
  mirrortask restore --source F --from B
  mirrortask sync    --source F --url U --app-id A --superoffice-cert C --superoffice-key K
                     --partner-pub P [--batch-bytes 1000000] [--parallel 4]
  mirrortask verify  --source F --target DSN [--db-name Mirror_{ctx}] [--tenant X]
  mirrortask token   --app-id A --superoffice-cert C --superoffice-key K [--tenant X]
  mirrortask bench   --url U --pg DSN (token flags as sync) [--mode repopulation|incremental|add-column]
                     [--rows N] [--tenants N] [--tables N] [--parallel N] [--batch-bytes B]
  mirrortask bench   --sweep --target T [--tenants 4] [--rows 40000] [--repeat 3] [--tolerance 5]
                     [--per-tenant 1,2,4,8] [--max-applies N,...] [--max-connections N]

Run "mirrortask <command> -h" for a command's flags.
`

// errDifferent is verify's answer when the mirror differs from the source: exit status 1
// without a second message, since the differences are already printed.
var errDifferent = errors.New("the mirror differs from the source")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1], os.Args[2:], os.Stdout)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errDifferent):
		os.Exit(1)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "mirrortask:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mirrortask:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run runs one command, writing its report to out. Tests call it in-process.
func run(ctx context.Context, cmd string, args []string, out io.Writer) error {
	switch cmd {
	case "init":
		return cmdInit(ctx, args, out)
	case "change":
		return cmdChange(ctx, args, out)
	case "alter":
		return cmdAlter(ctx, args, out)
	case "backup":
		return cmdBackup(ctx, args, out)
	case "restore":
		return cmdRestore(args, out)
	case "sync":
		return cmdSync(ctx, args, out)
	case "verify":
		return cmdVerify(ctx, args, out)
	case "token":
		return cmdToken(args, out)
	case "bench":
		return cmdBench(ctx, args, out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q\n\n%s", errUsage, cmd, usage)
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	var missing []string
	for _, name := range required {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s needs %s", errUsage, fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}

func cmdInit(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("init")
	source := fs.String("source", "", "the tenant file to create (SQLite)")
	scale := fs.Int64("scale", 10000, "about how many rows the tenant holds over all its tables")
	seed := fs.Uint64("seed", 1, "seed of the content: the same seed and scale give the same tenant")
	name := fs.String("tenant", "", "the tenant's context identifier (default Cust<seed>)")
	retention := fs.Int64("retention", tenant.DefaultRetention, "change tracking retention in versions (changes), the stand-in for SQL Server's 7 days")
	if err := parse(fs, args, "source"); err != nil {
		return err
	}
	start := time.Now()
	t, err := tenant.Create(ctx, *source, tenant.Config{Scale: *scale, Seed: *seed, Name: *name, Retention: *retention})
	if err != nil {
		return err
	}
	defer t.Close()
	var rows int64
	for _, tb := range t.Tables() {
		n, err := t.RowCount(ctx, tb.Name)
		if err != nil {
			return err
		}
		rows += n
	}
	lsn, err := t.CurrentLSN(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created tenant %s in %s: %d tables, %d rows, LSN %d, in %s\n",
		t.Name(), *source, len(t.Tables()), rows, lsn, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdChange(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("change")
	source := fs.String("source", "", "the tenant file")
	seed := fs.Uint64("seed", 1, "seed of the mix of changes")
	n := fs.Int("changes", 1000, "how many changes (inserts, updates, deletes) to make")
	retention := fs.Int64("retention", 0, "set the retention window to this many versions first (0 keeps it)")
	if err := parse(fs, args, "source"); err != nil {
		return err
	}
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	if *retention > 0 {
		if err := t.SetRetention(ctx, *retention); err != nil {
			return err
		}
	}
	st, err := t.Change(ctx, *seed, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "changed tenant %s: %d inserts, %d updates, %d deletes, LSN %d to %d\n",
		t.Name(), st.Inserted, st.Updated, st.Deleted, st.FirstLSN, st.LastLSN)
	return nil
}

func cmdAlter(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("alter")
	source := fs.String("source", "", "the tenant file")
	kind := fs.String("kind", "", "the schema change: "+strings.Join(tenant.AlterKinds, ", "))
	if err := parse(fs, args, "source", "kind"); err != nil {
		return err
	}
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	what, err := t.Alter(ctx, *kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "altered tenant %s: %s\n", t.Name(), what)
	return nil
}

func cmdBackup(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("backup")
	source := fs.String("source", "", "the tenant file")
	to := fs.String("to", "", "the backup file to write (must not exist)")
	if err := parse(fs, args, "source", "to"); err != nil {
		return err
	}
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := t.Backup(ctx, *to); err != nil {
		return err
	}
	lsn, err := t.CurrentLSN(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backed up tenant %s at LSN %d to %s\n", t.Name(), lsn, *to)
	return nil
}

func cmdRestore(args []string, out io.Writer) error {
	fs := newFlags("restore")
	source := fs.String("source", "", "the tenant file to replace")
	from := fs.String("from", "", "the backup file")
	if err := parse(fs, args, "source", "from"); err != nil {
		return err
	}
	if err := tenant.Restore(*from, *source); err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %s from %s\n", *source, *from)
	return nil
}
