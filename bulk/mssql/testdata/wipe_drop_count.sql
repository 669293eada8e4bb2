TRUNCATE TABLE [contact];
DELETE FROM [contact];
IF OBJECT_ID(N'[contact]', N'U') IS NOT NULL DROP TABLE [contact];
SELECT COUNT_BIG(*) FROM [contact]
