SELECT count(*) FROM "contact" WHERE "contact_id" IN (?, ?, ?);
SELECT count(*) FROM "pair" WHERE ("a", "b") IN (VALUES (?, ?), (?, ?))
