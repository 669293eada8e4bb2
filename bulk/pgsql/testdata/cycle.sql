INSERT INTO "public"."Cust12020_mirroring" (tablename, schemahash, lsn, changed_at) VALUES ('#cycle', 'open', 1, now())
ON CONFLICT (tablename) DO UPDATE SET lsn = CASE WHEN "public"."Cust12020_mirroring".schemahash = 'ended' THEN "public"."Cust12020_mirroring".lsn + 1 ELSE "public"."Cust12020_mirroring".lsn END,
	schemahash = CASE WHEN "public"."Cust12020_mirroring".schemahash = 'ended' THEN 'open' ELSE "public"."Cust12020_mirroring".schemahash END, changed_at = now();
UPDATE "public"."Cust12020_mirroring" SET inserted = 0, updated = 0, deleted = 0
WHERE tablename <> '#cycle' AND (inserted <> 0 OR updated <> 0 OR deleted <> 0);
UPDATE "public"."Cust12020_mirroring" SET schemahash = 'named' WHERE tablename = '#cycle' AND schemahash <> 'ended' RETURNING lsn;
UPDATE "public"."Cust12020_mirroring" SET cycle = $2 WHERE tablename = ANY($1);
SELECT lsn, schemahash FROM "public"."Cust12020_mirroring" WHERE tablename = '#cycle' FOR UPDATE;
SELECT tablename FROM "public"."Cust12020_mirroring" WHERE tablename <> '#cycle' AND cycle IS DISTINCT FROM $1 ORDER BY tablename FOR UPDATE;
UPDATE "public"."Cust12020_mirroring" SET schemahash = 'ended', changed_at = now() WHERE tablename = '#cycle'
