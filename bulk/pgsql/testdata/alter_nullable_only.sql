ALTER TABLE "contact"
	ALTER COLUMN "name" DROP NOT NULL;
COMMENT ON COLUMN "contact"."name" IS 'mirrord:nvarchar(220)'
