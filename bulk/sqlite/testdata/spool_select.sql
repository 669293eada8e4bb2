SELECT op, cols, v0, v1, v2 FROM spool ORDER BY rowid
