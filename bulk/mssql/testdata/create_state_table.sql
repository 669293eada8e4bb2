IF OBJECT_ID(N'[dbo].[Cust12020_mirroring]', N'U') IS NULL
CREATE TABLE [dbo].[Cust12020_mirroring] (
	tablename nvarchar(128) NOT NULL PRIMARY KEY,
	schemahash varchar(64) NOT NULL,
	lsn bigint NOT NULL,
	changed_at datetime2(3) NULL,
	defaults nvarchar(max) NULL,
	cycle bigint NULL,
	inserted bigint NOT NULL DEFAULT 0,
	updated bigint NOT NULL DEFAULT 0,
	deleted bigint NOT NULL DEFAULT 0,
	wiped_cycle bigint NULL
);
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'defaults') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD defaults nvarchar(max) NULL;
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'cycle') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD cycle bigint NULL;
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'inserted') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD inserted bigint NOT NULL DEFAULT 0;
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'updated') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD updated bigint NOT NULL DEFAULT 0;
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'deleted') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD deleted bigint NOT NULL DEFAULT 0;
IF COL_LENGTH(N'[dbo].[Cust12020_mirroring]', N'wiped_cycle') IS NULL ALTER TABLE [dbo].[Cust12020_mirroring] ADD wiped_cycle bigint NULL
