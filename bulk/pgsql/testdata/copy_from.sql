COPY "public"."contact" ("contact_id", "name") FROM STDIN (FORMAT binary);
SELECT a.attname, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped;
SAVEPOINT direct_chunk;
RELEASE SAVEPOINT direct_chunk;
SAVEPOINT direct_chunk;
ROLLBACK TO SAVEPOINT direct_chunk
