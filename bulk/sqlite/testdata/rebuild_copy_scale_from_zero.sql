INSERT INTO "#rebuild_n" ("d") SELECT "d" || '.00' FROM "n"
