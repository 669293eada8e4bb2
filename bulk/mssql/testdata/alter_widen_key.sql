ALTER TABLE [dbo].[contact] ADD [total] bigint NULL, [notes] nvarchar(max) NULL;
ALTER TABLE [dbo].[contact] DROP CONSTRAINT [PK__contact__1A2B3C];
ALTER TABLE [dbo].[contact] ALTER COLUMN [code] varchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE [dbo].[contact] ALTER COLUMN [name] nvarchar(220) NULL;
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [PK__contact__1A2B3C] PRIMARY KEY CLUSTERED ([contact_id], [code]);
ALTER TABLE [dbo].[contact] DROP COLUMN [old_name], [legacy2];
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [DF_contact_name_2396614c] DEFAULT (N'it''s') FOR [name]
