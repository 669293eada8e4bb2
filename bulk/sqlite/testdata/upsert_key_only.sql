INSERT INTO "pair" ("a", "b") VALUES (?, ?) ON CONFLICT ("a", "b") DO NOTHING
