ALTER TABLE [dbo].[contact] ALTER COLUMN [active] bit NULL
