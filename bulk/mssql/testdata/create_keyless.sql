CREATE TABLE [dbo].[log] (
	[line] varchar(100) NULL,
	[at] datetime2(7) NULL
)
