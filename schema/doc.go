// Package schema is the table model of a mirrored table and the diff that plans its migration;
// it never touches a database and writes no DDL.
/*
A Table is what a TableSchema message describes: a name and columns in source order, each with
a SQL Server type and its attributes, nullability, primary key membership and default.
Validate normalizes a table (type names in lower case, attributes the type does not use set to
zero, a default without surrounding white space) and refuses what no target can mirror: a bad
name, an unknown type, an attribute out of range, an impossible key, a default too long or
holding control characters.

Hash is the schema hash a mirror stores beside each table's LSN. Its canonical form does not
change: a table without defaults hashes as it did before defaults were part of the model, so
that no mirror in the field sees a schema change that did not happen.

Every type belongs to one Family (bool, integer, float, decimal, string, binary, date,
datetime, datetimeoffset, time, uuid): the kind of value it holds, which decides how the
targets store and check it. The ranges and limits that SQL Server documents for the types
(IntegerRange, UnscaledRange and Digits for money, TimeRange, MaxLength, MaxPrecision…) are
declared here once, beside the types.

Diff compares the table a mirror has with the one the source describes and returns a Plan:
None, Create, Alter (columns added, widened or dropped, defaults changed; the data stays) or
Recreate (the table is dropped, created anew and filled again). The rules are the same for every
target; a target only renders a Plan as its own DDL.

A default is SQL Server's catalog text, kept and compared verbatim. ParseDefault reads it into a
Default that a target can write in its own dialect: NULL, a number, a string, binary, the
current time, a new GUID. Anything else is DefaultOther, which only SQL Server can evaluate; the
other targets keep it aside and report it, rather than lose it or fail. The only SQL this
package writes is a default in SQL Server's catalog form (Default.SQLServerText), to compare
with a catalog.

Everything here is pure computation on values: no I/O, no state, safe for concurrent use.
*/
package schema
