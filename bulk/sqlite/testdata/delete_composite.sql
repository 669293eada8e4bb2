DELETE FROM "pair" WHERE "a" = ? AND "b" = ?
