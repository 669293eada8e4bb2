package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
)

func TestConformance(t *testing.T) {
	bulktest.Run(t, bulktest.Harness{
		Open: func(t *testing.T) bulk.Target {
			target, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			return target
		},
		Reopen: func(t *testing.T, old bulk.Target) bulk.Target {
			target, err := Open(old.(*Target).dir, old.(*Target).opts)
			if err != nil {
				t.Fatal(err)
			}
			return target
		},
		ExecSQL: func(ctx context.Context, m bulk.Mirror, sql string) error {
			sm, ok := m.(*Mirror)
			if !ok {
				return fmt.Errorf("mirror %T is not a sqlite mirror", m)
			}
			_, err := sm.w.ExecContext(ctx, sql)
			return err
		},
		Limits: bulktest.Limits{KeepsOffset: true, NulInText: true, VarcharUnicode: true},
	})
}
