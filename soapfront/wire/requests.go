package wire

import (
	"errors"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// The request readers of every operation but RowData (rowdata.go). Each matches children by
// local name whatever their namespace, skips and reports what the contract does not have, and
// faults when an element the request needs is missing: forgiving where a sender's shape may
// differ, never so forgiving that a lost element reads as "nothing to do".

// clientState is the child handler shared by every request and response.
func (d *Decoder) clientState(seen *bool, into *string) error {
	if err := d.once(seen, "ClientState"); err != nil {
		return err
	}
	var err error
	*into, _, err = d.stringField("ClientState", d.MaxClientState)
	return err
}

// Authenticate reads an AuthenticateRequest.
func (d *Decoder) Authenticate() (AuthenticateRequest, error) {
	var req AuthenticateRequest
	var seen bool
	err := d.operationBody(OpAuthenticate, func(name string) error {
		if name == "ClientState" {
			return d.clientState(&seen, &req.ClientState)
		}
		return d.skipElement("AuthenticateRequest")
	})
	return req, err
}

// ReplicationCompleted reads a ReplicationCompletedRequest and its optional <Summary>.
func (d *Decoder) ReplicationCompleted() (ReplicationCompletedRequest, error) {
	var req ReplicationCompletedRequest
	var seenState, seenSummary bool
	err := d.operationBody(OpReplicationCompleted, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &req.ClientState)
		case "Summary":
			if err := d.once(&seenSummary, name); err != nil {
				return err
			}
			return d.summary(&req.Summary)
		}
		return d.skipElement("ReplicationCompletedRequest")
	})
	return req, err
}

// summary reads a <Summary> of <TableSummary> into list. Every field of a TableSummary is
// optional, but one without a name says nothing: it is skipped and reported.
func (d *Decoder) summary(list *[]TableSummary) error {
	_, err := d.list("Summary", func(name string) error {
		if name != "TableSummary" {
			return d.skipElement("Summary")
		}
		t, named, err := d.tableSummary()
		if err != nil {
			return inTable(err, t.Name)
		}
		if !named {
			d.skipped("Summary/TableSummary")
			return nil
		}
		*list = append(*list, t)
		return nil
	})
	return err
}

// tableSummary reads one <TableSummary>; named is false for one without a name, or a nil one.
func (d *Decoder) tableSummary() (t TableSummary, named bool, err error) {
	isNil, err := d.attributes("TableSummary")
	if err != nil {
		return t, false, err
	}
	if isNil {
		return t, false, d.skip(MaxFieldSize)
	}
	var seenName, seenInserted, seenUpdated, seenDeleted bool
	count := func(seen *bool, name string, into *int64) error {
		err := d.once(seen, name)
		if err == nil {
			*into, err = d.int64Text(name)
		}
		return err
	}
	err = d.children("TableSummary", func(name string) error {
		switch name {
		case "Name":
			if err := d.once(&seenName, name); err != nil {
				return err
			}
			var err error
			t.Name, named, err = d.stringField(name, MaxFieldSize)
			return err
		case "Inserted":
			return count(&seenInserted, name, &t.Inserted)
		case "Updated":
			return count(&seenUpdated, name, &t.Updated)
		case "Deleted":
			return count(&seenDeleted, name, &t.Deleted)
		}
		return d.skipElement("TableSummary")
	})
	return t, named && t.Name != "", err
}

// tables reads a request's one <Tables> list, handing each <child> in it to item and skipping
// any other child; has says that the list was there (the callers refuse a request without it).
func (d *Decoder) tables(seen, has *bool, child string, item func() error) error {
	if err := d.once(seen, "Tables"); err != nil {
		return err
	}
	var err error
	*has, err = d.list("Tables", func(name string) error {
		if name != child {
			return d.skipElement("Tables")
		}
		return item()
	})
	return err
}

// Wipe reads a WipeRequest. <Tables> is required: a request that lost it must not read as
// "wipe nothing" while the sender believes its tables empty.
func (d *Decoder) Wipe() (WipeRequest, error) {
	var req WipeRequest
	var seenState, seenTables, hasTables bool
	err := d.operationBody(OpWipe, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &req.ClientState)
		case "Tables":
			return d.tables(&seenTables, &hasTables, "Name", func() error {
				table, present, err := d.stringField("Name", MaxFieldSize)
				if err == nil && !present {
					err = d.failf("a table <Name> in <Tables> is nil")
				}
				req.Tables = append(req.Tables, table)
				return err
			})
		}
		return d.skipElement("WipeRequest")
	})
	if err == nil && !hasTables {
		err = d.failf("<WipeRequest> has no <Tables>; send <Tables/> to mean that no table is wiped")
	}
	return req, err
}

// TableSchema reads a TableSchemaRequest. The tables are as sent; the caller validates them.
func (d *Decoder) TableSchema() (TableSchemaRequest, error) {
	var req TableSchemaRequest
	var seenState, seenTables, hasTables bool
	err := d.operationBody(OpTableSchema, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &req.ClientState)
		case "Tables":
			return d.tables(&seenTables, &hasTables, "Table", func() error {
				t, err := d.table()
				req.Tables = append(req.Tables, t)
				return err
			})
		}
		return d.skipElement("TableSchemaRequest")
	})
	// Tables absent from the request are dropped from the mirror, so a request that lost its
	// <Tables> must never read as "no tables".
	if err == nil && !hasTables {
		err = d.failf("<TableSchemaRequest> has no <Tables>; send <Tables/> to mean that no table is mirrored")
	}
	return req, err
}

func (d *Decoder) table() (schema.Table, error) {
	var t schema.Table
	if err := d.item("Table"); err != nil {
		return t, err
	}
	var seenName, hasName, seenColumns, hasColumns bool
	err := d.children("Table", func(name string) error {
		switch name {
		case "Name":
			if err := d.once(&seenName, name); err != nil {
				return err
			}
			var err error
			t.Name, hasName, err = d.stringField(name, MaxFieldSize)
			return err
		case "Columns":
			if err := d.once(&seenColumns, name); err != nil {
				return err
			}
			var err error
			hasColumns, err = d.list("Columns", func(name string) error {
				if name != "Column" {
					return d.skipElement("Columns")
				}
				c, err := d.column(len(t.Columns) + 1)
				t.Columns = append(t.Columns, c)
				return err
			})
			return err
		}
		return d.skipElement("Table")
	})
	if err != nil {
		return t, inTable(err, t.Name)
	}
	if !hasName {
		return t, d.failf("a <Table> has no <Name>")
	}
	if !hasColumns {
		return t, inTable(d.failf("<Table> has no <Columns>"), t.Name)
	}
	return t, nil
}

func inTable(err error, table string) error {
	var we *Error
	if errors.As(err, &we) && we.Table == "" {
		we.Table = table
	}
	return err
}

// column reads one <Column>; n is its position, for errors about a column without a name.
func (d *Decoder) column(n int) (schema.Column, error) {
	var c schema.Column
	hasName, hasType, err := d.columnFields(&c)
	switch {
	case err != nil:
	case !hasName:
		err = d.failf("<Column> has no <Name>")
	case !hasType:
		err = d.failf("<Column> has no <Type>")
	}
	var we *Error
	if errors.As(err, &we) && we.Column == "" {
		we.Column = c.Name
		if c.Name == "" {
			we.Column = "#" + strconv.Itoa(n)
		}
	}
	return c, err
}

// columnFields reads the attributes and the children of a <Column> into c.
func (d *Decoder) columnFields(c *schema.Column) (hasName, hasType bool, err error) {
	if err := d.item("Column"); err != nil {
		return false, false, err
	}
	seen := map[string]bool{}
	err = d.children("Column", func(name string) error {
		switch name {
		case "Name", "Type", "Length", "Precision", "Scale", "Nullable", "PrimaryKey", "Default":
			if seen[name] {
				return d.failf("<%s> appears twice", name)
			}
			seen[name] = true
		default:
			return d.skipElement("Column")
		}
		var err error
		switch name {
		case "Name":
			c.Name, hasName, err = d.stringField(name, MaxFieldSize)
		case "Type":
			var t string
			t, hasType, err = d.stringField(name, MaxFieldSize)
			c.Type = schema.Type(strings.TrimSpace(t))
		case "Length":
			c.Length, err = d.intText(name)
		case "Precision":
			c.Precision, err = d.intText(name)
		case "Scale":
			c.Scale, err = d.intText(name)
		case "Nullable":
			c.Nullable, err = d.boolText(name)
		case "PrimaryKey":
			c.PrimaryKey, err = d.boolText(name)
		case "Default":
			var def string
			def, err = d.text(name)
			c.Default = strings.TrimSpace(def)
		}
		return err
	})
	return hasName, hasType, err
}
