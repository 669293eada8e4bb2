SELECT tablename, schemahash, lsn FROM [Cust12020_mirroring] ORDER BY tablename;
SELECT tablename, schemahash FROM [Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (@p1) ORDER BY tablename;
SELECT tablename, schemahash FROM [Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (@p1, @p2, @p3) ORDER BY tablename;
SELECT COUNT(*) FROM [Cust12020_mirroring] WHERE tablename = @p1;
UPDATE [Cust12020_mirroring] SET schemahash = @p2, lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename = @p1;
IF @@ROWCOUNT = 0 INSERT INTO [Cust12020_mirroring] (tablename, schemahash, lsn, changed_at) VALUES (@p1, @p2, -1, SYSUTCDATETIME());
UPDATE [Cust12020_mirroring] SET schemahash = @p2, changed_at = SYSUTCDATETIME() WHERE tablename = @p1 AND schemahash <> @p2;
UPDATE [Cust12020_mirroring] SET lsn = @p2, changed_at = SYSUTCDATETIME() WHERE tablename = @p1;
UPDATE [Cust12020_mirroring] SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename IN (@p1, @p2);
UPDATE [Cust12020_mirroring] SET lsn = -1, changed_at = SYSUTCDATETIME();
DELETE FROM [Cust12020_mirroring] WHERE tablename IN (@p1, @p2);
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
