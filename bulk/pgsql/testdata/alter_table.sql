ALTER TABLE "public"."contact"
	ADD COLUMN "visits" bigint,
	ADD COLUMN "notes" text,
	ALTER COLUMN "name" TYPE character varying(220),
	ALTER COLUMN "name" DROP NOT NULL,
	DROP COLUMN "old_name",
	DROP COLUMN "legacy";
COMMENT ON COLUMN "public"."contact"."visits" IS 'mirrord:bigint';
COMMENT ON COLUMN "public"."contact"."notes" IS 'mirrord:nvarchar(max)';
COMMENT ON COLUMN "public"."contact"."name" IS 'mirrord:nvarchar(220)';
COMMENT ON COLUMN "public"."contact"."active" IS 'mirrord:bit'
