SELECT name FROM pragma_table_info('Cust12020_mirroring');
ALTER TABLE "Cust12020_mirroring" ADD COLUMN cycle INTEGER;
SELECT tablename, schemahash, lsn, changed_at, coalesce(defaults, ''), inserted, updated, deleted, coalesce(wiped_cycle = (SELECT lsn FROM "Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'), 0) FROM "Cust12020_mirroring" WHERE tablename <> '#cycle' ORDER BY tablename;
SELECT schemahash, lsn, coalesce(wiped_cycle = (SELECT lsn FROM "Cust12020_mirroring" WHERE tablename = '#cycle' AND schemahash <> 'ended'), 0) FROM "Cust12020_mirroring" WHERE tablename = ?;
SELECT schemahash FROM "Cust12020_mirroring" WHERE tablename = ?;
UPDATE "Cust12020_mirroring" SET schemahash = ?, defaults = nullif(?, ''), changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE tablename = ?;
UPDATE "Cust12020_mirroring" SET lsn = CASE WHEN ?1 THEN ?2 ELSE lsn END, changed_at = CASE WHEN ?1 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') ELSE changed_at END, inserted = inserted + ?3, updated = updated + ?4, deleted = deleted + ?5 WHERE tablename = ?6;
UPDATE "Cust12020_mirroring" SET lsn = -1, changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE tablename <> '#cycle'
