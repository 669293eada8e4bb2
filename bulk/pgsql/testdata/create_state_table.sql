CREATE TABLE IF NOT EXISTS "public"."Cust12020_mirroring" (
	tablename text PRIMARY KEY,
	schemahash text NOT NULL,
	lsn bigint NOT NULL,
	changed_at timestamptz,
	defaults text,
	cycle bigint,
	inserted bigint NOT NULL DEFAULT 0,
	updated bigint NOT NULL DEFAULT 0,
	deleted bigint NOT NULL DEFAULT 0,
	wiped_cycle bigint
);
ALTER TABLE "public"."Cust12020_mirroring"
	ADD COLUMN IF NOT EXISTS defaults text,
	ADD COLUMN IF NOT EXISTS cycle bigint,
	ADD COLUMN IF NOT EXISTS inserted bigint NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS updated bigint NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS deleted bigint NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS wiped_cycle bigint;
SELECT attname FROM pg_attribute
WHERE attrelid = (SELECT c.oid FROM pg_class c WHERE c.relname = $2 AND c.relnamespace = $1::regnamespace)
	AND attnum > 0 AND NOT attisdropped
