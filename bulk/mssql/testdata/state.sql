SELECT tablename, schemahash, lsn, changed_at, COALESCE(defaults, N''), inserted, updated, deleted, CAST(CASE WHEN wiped_cycle = (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended') THEN 1 ELSE 0 END AS bit) FROM [dbo].[Cust12020_mirroring] WHERE tablename <> N'#cycle' ORDER BY tablename;
SELECT tablename, schemahash FROM [dbo].[Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (@p1) ORDER BY tablename;
SELECT tablename, schemahash FROM [dbo].[Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (@p1, @p2, @p3) ORDER BY tablename;
SELECT schemahash, lsn, CAST(CASE WHEN wiped_cycle = (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended') THEN 1 ELSE 0 END AS bit) FROM [dbo].[Cust12020_mirroring] WITH (UPDLOCK, HOLDLOCK) WHERE tablename = @p1;
SELECT COUNT(*) FROM [dbo].[Cust12020_mirroring] WHERE tablename = @p1;
UPDATE [dbo].[Cust12020_mirroring] SET schemahash = @p2, lsn = -1, changed_at = SYSUTCDATETIME(), defaults = NULLIF(@p3, N''), cycle = (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended'), wiped_cycle = (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended') WHERE tablename = @p1;
IF @@ROWCOUNT = 0 INSERT INTO [dbo].[Cust12020_mirroring] (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle) VALUES (@p1, @p2, -1, SYSUTCDATETIME(), NULLIF(@p3, N''), (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended'), (SELECT lsn FROM [dbo].[Cust12020_mirroring] WHERE tablename = N'#cycle' AND schemahash <> 'ended'));
UPDATE [dbo].[Cust12020_mirroring] SET schemahash = @p2, defaults = NULLIF(@p3, N''), changed_at = SYSUTCDATETIME() WHERE tablename = @p1;
UPDATE [dbo].[Cust12020_mirroring] SET lsn = CASE WHEN @p2 = 1 THEN @p3 ELSE lsn END,
	changed_at = CASE WHEN @p2 = 1 THEN SYSUTCDATETIME() ELSE changed_at END,
	inserted = inserted + @p4, updated = updated + @p5, deleted = deleted + @p6
WHERE tablename = @p1;
UPDATE [dbo].[Cust12020_mirroring] SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename IN (@p1, @p2);
UPDATE [dbo].[Cust12020_mirroring] SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename <> N'#cycle';
DELETE FROM [dbo].[Cust12020_mirroring] WHERE tablename IN (@p1, @p2);
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END;
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = N'mirrord_schema', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = -1;
IF @r < 0 THROW 50000, N'mirrord could not take the mirror''s schema lock', 1
