ALTER TABLE "contact"
	ADD COLUMN "visits" bigint,
	ADD COLUMN "notes" text,
	ALTER COLUMN "name" TYPE character varying(220),
	ALTER COLUMN "name" DROP NOT NULL,
	DROP COLUMN "old_name",
	DROP COLUMN "legacy";
COMMENT ON COLUMN "contact"."visits" IS 'mirrord:bigint';
COMMENT ON COLUMN "contact"."notes" IS 'mirrord:nvarchar(max)';
COMMENT ON COLUMN "contact"."name" IS 'mirrord:nvarchar(220)';
COMMENT ON COLUMN "contact"."active" IS 'mirrord:bit'
