INSERT INTO spool (op, cols, v0, v1) VALUES (?, ?, ?, ?)
