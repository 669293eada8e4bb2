COPY "public"."contact" ("contact_id", "name") FROM STDIN (FORMAT binary);
LOCK TABLE "public"."contact" IN ROW EXCLUSIVE MODE;
WITH RECURSIVE col(name, typ) AS (
	SELECT attname, atttypid FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
	UNION ALL
	SELECT col.name, t.typbasetype FROM col JOIN pg_type t ON t.oid = col.typ WHERE t.typtype = 'd'
)
SELECT col.name, col.typ FROM col JOIN pg_type t ON t.oid = col.typ WHERE t.typtype <> 'd';
SAVEPOINT direct_chunk;
RELEASE SAVEPOINT direct_chunk;
SAVEPOINT direct_chunk;
ROLLBACK TO SAVEPOINT direct_chunk
