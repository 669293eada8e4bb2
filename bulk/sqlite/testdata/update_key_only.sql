UPDATE "pair" SET "a" = "a" WHERE "a" = ? AND "b" = ?
