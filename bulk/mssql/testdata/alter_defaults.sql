ALTER TABLE [dbo].[contact] DROP CONSTRAINT [DF_contact_old_name_9f8e7d6c];
ALTER TABLE [dbo].[contact] DROP CONSTRAINT [DF_contact_name_0a1b2c3d];
ALTER TABLE [dbo].[contact] DROP CONSTRAINT [DF__contact__regis__5AEE82B9];
ALTER TABLE [dbo].[contact] DROP CONSTRAINT [DF_partner_seen];
ALTER TABLE [dbo].[contact] ADD [total] bigint NULL CONSTRAINT [DF_contact_total_45483a2c] DEFAULT ((0));
ALTER TABLE [dbo].[contact] ALTER COLUMN [name] nvarchar(220) NULL;
ALTER TABLE [dbo].[contact] DROP COLUMN [old_name];
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [DF_contact_name_2396614c] DEFAULT (N'it''s') FOR [name];
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [DF_contact_rank_405912eb] DEFAULT ((3)) FOR [rank];
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [DF_contact_registered_577c02d6] DEFAULT (sysutcdatetime()) FOR [registered];
SELECT c.name, dc.name
FROM sys.default_constraints AS dc
JOIN sys.columns AS c ON c.object_id = dc.parent_object_id AND c.column_id = dc.parent_column_id
WHERE dc.parent_object_id = OBJECT_ID(@p1, N'U')
