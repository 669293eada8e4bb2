ALTER TABLE [dbo].[contact] DROP CONSTRAINT [DF_contact_active_c42ec511];
ALTER TABLE [dbo].[contact] ALTER COLUMN [active] bit NULL;
ALTER TABLE [dbo].[contact] ADD CONSTRAINT [DF_contact_active_c42ec511] DEFAULT ((1)) FOR [active]
