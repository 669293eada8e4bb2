INSERT INTO "mirrord_rebuild_n" ("d") SELECT "d" || '.00' FROM "n"
