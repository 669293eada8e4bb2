UPDATE [dbo].[Cust12020_mirroring] SET lsn = CASE WHEN schemahash = 'ended' THEN lsn + 1 ELSE lsn END,
	schemahash = CASE WHEN schemahash = 'ended' THEN 'open' ELSE schemahash END, changed_at = SYSUTCDATETIME() WHERE tablename = N'#cycle';
IF @@ROWCOUNT = 0 INSERT INTO [dbo].[Cust12020_mirroring] (tablename, schemahash, lsn, changed_at) VALUES (N'#cycle', 'open', 1, SYSUTCDATETIME());
UPDATE [dbo].[Cust12020_mirroring] SET inserted = 0, updated = 0, deleted = 0 WHERE tablename <> N'#cycle' AND (inserted <> 0 OR updated <> 0 OR deleted <> 0);
UPDATE [dbo].[Cust12020_mirroring] SET schemahash = 'named' OUTPUT inserted.lsn WHERE tablename = N'#cycle' AND schemahash <> 'ended';
UPDATE [dbo].[Cust12020_mirroring] SET cycle = @p1 WHERE tablename IN (@p2, @p3);
SELECT lsn, schemahash FROM [dbo].[Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename = N'#cycle';
SELECT tablename FROM [dbo].[Cust12020_mirroring] WHERE tablename <> N'#cycle' AND (cycle IS NULL OR cycle <> @p1) ORDER BY tablename;
UPDATE [dbo].[Cust12020_mirroring] SET schemahash = 'ended', changed_at = SYSUTCDATETIME() WHERE tablename = N'#cycle'
