ALTER TABLE "public"."contact"
	ALTER COLUMN "name" DROP NOT NULL;
COMMENT ON COLUMN "public"."contact"."name" IS 'mirrord:nvarchar(220)'
