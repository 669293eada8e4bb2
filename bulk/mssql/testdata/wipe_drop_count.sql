TRUNCATE TABLE [dbo].[contact];
DELETE FROM [dbo].[contact];
IF OBJECT_ID(N'[dbo].[contact]', N'U') IS NOT NULL DROP TABLE [dbo].[contact];
SELECT COUNT_BIG(*) FROM [dbo].[contact]
