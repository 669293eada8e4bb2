package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

func status(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var tf targetFlags
	tf.register(fs)
	var tenants listFlag
	fs.Var(&tenants, "tenant", "tenant to report (repeatable; required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(tenants) == 0 {
		return fmt.Errorf("status needs at least one --tenant")
	}
	target, _, err := tf.open(ctx)
	if err != nil {
		return err
	}
	defer target.Close()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TENANT\tTABLE\tLSN\tROWS\tLAST CHANGE (UTC)\tSCHEMA HASH\tCYCLE (I/U/D)")
	var kept []string
	for _, tenant := range tenants {
		m, err := target.Open(ctx, tenant)
		if err != nil {
			return err
		}
		tables, err := m.Tables(ctx)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(tables))
		for n := range tables {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			rows, err := m.RowCount(ctx, n)
			if err != nil {
				return err
			}
			st := tables[n]
			changed := "-"
			if !st.Changed.IsZero() {
				changed = st.Changed.Format("2006-01-02 15:04:05")
			}
			c := st.Cycle
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%.12s\t%d/%d/%d\n", tenant, n, st.LSN, rows, changed, st.Hash, c.Inserted, c.Updated, c.Deleted)
			for _, col := range st.KeptDefaults {
				def := st.Table.Columns[st.Table.Column(col)].Default
				kept = append(kept, fmt.Sprintf("  %s.%s.%s: %s", tenant, n, col, def))
			}
		}
		m.Close()
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(kept) > 0 {
		fmt.Println("\nDefaults the target cannot express, kept in the state table only (rows the partner inserts get none):")
		fmt.Println(strings.Join(kept, "\n"))
	}
	return nil
}

func invalidate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invalidate", flag.ContinueOnError)
	var tf targetFlags
	tf.register(fs)
	tenant := fs.String("tenant", "", "the tenant whose mirror to invalidate (required)")
	var tables listFlag
	fs.Var(&tables, "table", "a table to invalidate (repeatable); every mirrored table when absent")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return fmt.Errorf("invalidate needs --tenant")
	}
	target, _, err := tf.open(ctx)
	if err != nil {
		return err
	}
	defer target.Close()
	m, err := target.Open(ctx, *tenant)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Invalidate(ctx, tables); err != nil {
		return err
	}
	what := "every table"
	if len(tables) > 0 {
		what = fmt.Sprint([]string(tables))
	}
	fmt.Printf("invalidated %s of tenant %s: LSN -1, the next cycle repopulates\n", what, *tenant)
	return nil
}
