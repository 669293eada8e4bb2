INSERT INTO "travel_log" ("at", "what") VALUES (?, ?), (?, ?)
