INSERT INTO "contact" ("contact_id", "name", "notes") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?) ON CONFLICT ("contact_id") DO UPDATE SET "name" = excluded."name", "notes" = excluded."notes"
