INSERT INTO "Cust12020_mirroring" (tablename, schemahash, lsn, changed_at) VALUES ('#cycle', 'open', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ON CONFLICT (tablename) DO UPDATE SET lsn = CASE WHEN schemahash = 'ended' THEN lsn + 1 ELSE lsn END, schemahash = CASE WHEN schemahash = 'ended' THEN 'open' ELSE schemahash END, changed_at = excluded.changed_at;
UPDATE "Cust12020_mirroring" SET inserted = 0, updated = 0, deleted = 0 WHERE tablename <> '#cycle' AND (inserted <> 0 OR updated <> 0 OR deleted <> 0);
UPDATE "Cust12020_mirroring" SET schemahash = 'named' WHERE tablename = '#cycle' AND schemahash <> 'ended' RETURNING lsn;
UPDATE "Cust12020_mirroring" SET cycle = ? WHERE tablename = ?;
SELECT lsn, schemahash FROM "Cust12020_mirroring" WHERE tablename = '#cycle';
SELECT tablename FROM "Cust12020_mirroring" WHERE tablename <> '#cycle' AND cycle IS NOT ? ORDER BY tablename;
UPDATE "Cust12020_mirroring" SET schemahash = 'ended', changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE tablename = '#cycle'
