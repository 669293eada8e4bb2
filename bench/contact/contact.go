// Package contact is the 12-column contact-like table that the benchmarks load, and its rows.
package contact

import (
	"fmt"
	"time"

	"github.com/mirrord/mirrord/schema"
)

// Table is a contact-like table: an int key, four nvarchar, two smallint, two datetime, two
// int and one smallint.
var Table = schema.Table{Name: "contact", Columns: []schema.Column{
	{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
	{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
	{Name: "department", Type: schema.NVarChar, Length: 220, Nullable: true},
	{Name: "orgnr", Type: schema.NVarChar, Length: 31, Nullable: true},
	{Name: "number1", Type: schema.NVarChar, Length: 31, Nullable: true},
	{Name: "category_idx", Type: schema.SmallInt},
	{Name: "business_idx", Type: schema.SmallInt},
	{Name: "registered", Type: schema.DateTime},
	{Name: "updated", Type: schema.DateTime},
	{Name: "associate_id", Type: schema.Int},
	{Name: "text_id", Type: schema.Int, Nullable: true},
	{Name: "deleted", Type: schema.SmallInt},
}}

// Columns are Table's column names, in order.
func Columns() []string {
	names := make([]string, len(Table.Columns))
	for i, c := range Table.Columns {
		names[i] = c.Name
	}
	return names
}

// Row is the row of key id in generation gen, as bulk values: values change with gen, so that
// an update really changes the row.
func Row(id int64, gen int) []any {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	return []any{
		id,
		fmt.Sprintf("Fjord & Sons %d/%d", id, gen),
		"Sales",
		fmt.Sprintf("NO%09d", id),
		fmt.Sprintf("C-%d", id),
		int64(id % 17), int64(id % 23),
		base.Add(time.Duration(id) * time.Second),
		base.Add(time.Duration(id+int64(gen)) * time.Minute),
		int64(id % 97),
		nil,
		int64(0),
	}
}
