CREATE TABLE IF NOT EXISTS "Cust12020_mirroring" (tablename TEXT PRIMARY KEY, schemahash TEXT NOT NULL, lsn INTEGER NOT NULL, changed_at TEXT)
