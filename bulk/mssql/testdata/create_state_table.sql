IF OBJECT_ID(N'[Cust12020_mirroring]', N'U') IS NULL
CREATE TABLE [Cust12020_mirroring] (
	tablename nvarchar(128) NOT NULL PRIMARY KEY,
	schemahash varchar(64) NOT NULL,
	lsn bigint NOT NULL,
	changed_at datetime2(3) NULL
)
