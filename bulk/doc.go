// Package bulk is the batch model (rows tagged insert, update or delete with typed values) and
// the Target interface that every mirror database implements.
//
// # Batches and rows
//
// A batch is one table's rows from one call: each row is tagged with an Op (Insert, Update,
// Delete) and carries the values of some of the table's columns. The front end decodes rows
// into Rows, a pull-style stream, so that a target loads them as they arrive and never needs
// the whole batch in memory; the column set of the rows changes only between batches. The
// batch's LSN arrives after its rows and is stored with them (ApplyOptions.LSN).
//
// # Targets and mirrors
//
// A Target is a database server, or a folder, holding one Mirror per tenant. A Mirror is the
// tenant's database: its mirrored tables and a state table that records, per table, the schema
// hash it was migrated to, its LSN and the current cycle's counts. What every implementation
// promises, and bulktest checks:
//
//   - Apply writes a table's rows and its new LSN in one transaction: all of it or none. The
//     last state of a key wins, an insert of a present key updates it, an update of a missing
//     key inserts it and a delete of a missing key does nothing; a table without a primary key
//     takes inserts only (ErrNoKey). An LSN lower than the stored one is refused (LSNError)
//     unless the cycle created or wiped the table.
//   - Migrate carries out a schema.Plan only if the table is still in the state the plan was
//     made from (ErrSchemaChanged otherwise); Create and Recreate leave the table with NoLSN,
//     Alter keeps its rows and LSN.
//   - A mirror only alters, wipes or drops tables its state table lists: the partner's own
//     tables, views and indexes in the same database are left alone.
//   - Every method may be called concurrently for different tables and from several
//     processes: migrations of a mirror, and applies of a table, are serialized by locks in
//     the database, not in the process.
//   - A value that a target cannot store as it is fails the apply with an error naming the
//     column and the row. What a target keeps of a value, when less than SQL Server would (a
//     seventh fractional digit, an offset), its TYPES.md says.
//
// # Values
//
// The values of a row are Go values chosen by the family of the column's SQL Server type
// (schema.Family); nil is NULL. ParseValue reads a value's text form (PROTOCOL.md part B) into
// this type and FormatValue writes it back; a target that meets another Go type refuses the
// value with WrongType. Rows carry them as Values: the same Go values held inline, not boxed
// into interfaces, so that decoding a row costs no allocation per value (Parser gives them
// straight from text; ValueOf and Value.Any convert).
//
//	bit                                          bool
//	tinyint, smallint, int, bigint               int64
//	float, real                                  float64 (a real holds a float32 value)
//	decimal, numeric, money, smallmoney          Decimal
//	char, varchar, nchar, nvarchar, text, ntext, xml    string
//	binary, varbinary, image (and rowversion)    []byte
//	date                                         time.Time, midnight UTC
//	datetime, datetime2, smalldatetime           time.Time in UTC: the wall clock as stored, no zone
//	datetimeoffset                               time.Time in a fixed zone of the stored offset
//	time                                         TimeOfDay
//	uniqueidentifier                             UUID
package bulk
