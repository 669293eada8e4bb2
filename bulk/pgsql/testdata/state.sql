SELECT tablename, schemahash, lsn, changed_at, coalesce(defaults, ''), inserted, updated, deleted, coalesce(wiped_cycle = (SELECT lsn FROM "public"."Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'), false) FROM "public"."Cust12020_mirroring" WHERE tablename <> '#cycle' ORDER BY tablename;
SELECT tablename, schemahash FROM "public"."Cust12020_mirroring" WHERE tablename = ANY($1) ORDER BY tablename FOR UPDATE;
SELECT schemahash, lsn, coalesce(wiped_cycle = (SELECT lsn FROM "public"."Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'), false) FROM "public"."Cust12020_mirroring" WHERE tablename = $1 FOR UPDATE;
SELECT EXISTS (SELECT 1 FROM "public"."Cust12020_mirroring" WHERE tablename = $1);
INSERT INTO "public"."Cust12020_mirroring" (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle)
	VALUES ($1, $2, -1, now(), nullif($3, ''), (SELECT lsn FROM "public"."Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'), (SELECT lsn FROM "public"."Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'))
ON CONFLICT (tablename) DO UPDATE SET schemahash = excluded.schemahash, lsn = excluded.lsn, changed_at = excluded.changed_at,
	defaults = excluded.defaults, cycle = excluded.cycle, wiped_cycle = excluded.wiped_cycle;
UPDATE "public"."Cust12020_mirroring" SET schemahash = $2, defaults = nullif($3, ''), changed_at = now()
WHERE tablename = $1 AND (schemahash IS DISTINCT FROM $2 OR defaults IS DISTINCT FROM nullif($3, ''));
UPDATE "public"."Cust12020_mirroring" SET lsn = CASE WHEN $2 THEN $3 ELSE lsn END,
	changed_at = CASE WHEN $2 THEN now() ELSE changed_at END,
	inserted = inserted + $4, updated = updated + $5, deleted = deleted + $6
WHERE tablename = $1;
UPDATE "public"."Cust12020_mirroring" SET lsn = -1, changed_at = now() WHERE tablename = ANY($1);
UPDATE "public"."Cust12020_mirroring" SET lsn = -1, changed_at = now() WHERE tablename <> '#cycle';
DELETE FROM "public"."Cust12020_mirroring" WHERE tablename = ANY($1);
SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $2 AND relnamespace = $1::regnamespace);
SELECT pg_advisory_xact_lock(30787349775495780);
SELECT pg_stat_get_xact_tuples_inserted($1::regclass), pg_stat_get_xact_tuples_updated($1::regclass), pg_stat_get_xact_tuples_deleted($1::regclass)
