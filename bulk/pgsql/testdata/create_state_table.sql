CREATE TABLE IF NOT EXISTS "Cust12020_mirroring" (
	tablename text PRIMARY KEY,
	schemahash text NOT NULL,
	lsn bigint NOT NULL,
	changed_at timestamptz
)
