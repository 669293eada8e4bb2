ALTER TABLE [contact] ALTER COLUMN [active] bit NULL
