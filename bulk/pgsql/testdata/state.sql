SELECT tablename, schemahash, lsn, changed_at FROM "Cust12020_mirroring" ORDER BY tablename;
SELECT tablename, schemahash FROM "Cust12020_mirroring" WHERE tablename = ANY($1) ORDER BY tablename FOR UPDATE;
SELECT EXISTS (SELECT 1 FROM "Cust12020_mirroring" WHERE tablename = $1);
INSERT INTO "Cust12020_mirroring" (tablename, schemahash, lsn, changed_at) VALUES ($1, $2, -1, now())
ON CONFLICT (tablename) DO UPDATE SET schemahash = excluded.schemahash, lsn = excluded.lsn, changed_at = excluded.changed_at;
UPDATE "Cust12020_mirroring" SET schemahash = $2, changed_at = now() WHERE tablename = $1 AND schemahash IS DISTINCT FROM $2;
UPDATE "Cust12020_mirroring" SET lsn = $2, changed_at = now() WHERE tablename = $1;
UPDATE "Cust12020_mirroring" SET lsn = -1, changed_at = now() WHERE tablename = ANY($1);
UPDATE "Cust12020_mirroring" SET lsn = -1, changed_at = now();
DELETE FROM "Cust12020_mirroring" WHERE tablename = ANY($1);
SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace)
