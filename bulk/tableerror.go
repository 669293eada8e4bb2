package bulk

import "errors"

// TableError is an error about one table, named once: wrappers that would add the table's name
// again use ForTable, which sees that it is there.
type TableError struct {
	Table string
	Err   error
}

func (e *TableError) Error() string { return "table " + e.Table + ": " + e.Err.Error() }
func (e *TableError) Unwrap() error { return e.Err }

// ForTable returns err naming table: as it is when it names the table already (a *TableError or
// *LSNError of that table anywhere in its chain), otherwise in a *TableError. nil stays nil.
func ForTable(table string, err error) error {
	if err == nil {
		return nil
	}
	var te *TableError
	if errors.As(err, &te) && te.Table == table {
		return err
	}
	var le *LSNError
	if errors.As(err, &le) && le.Table == table {
		return err
	}
	return &TableError{Table: table, Err: err}
}
