SELECT "a", "b", "v" FROM "pair" ORDER BY "a", "b"
