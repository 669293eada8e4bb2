CREATE TABLE "public"."defaults" (
	"id" integer NOT NULL,
	"deleted" boolean DEFAULT '0'::boolean NOT NULL,
	"amount" numeric(19,4) DEFAULT '1.5000'::numeric(19,4),
	"name" character varying(50) DEFAULT 'it''s'::character varying(50),
	"registered" timestamp(3) without time zone DEFAULT LOCALTIMESTAMP,
	"registered_utc" timestamp(6) without time zone DEFAULT (now() AT TIME ZONE 'UTC'),
	"stamp" timestamp(6) with time zone DEFAULT CURRENT_TIMESTAMP,
	"guid" uuid DEFAULT gen_random_uuid(),
	"hash" bytea DEFAULT '\x00FF'::bytea,
	"computed" integer,
	"wrong_type" integer,
	"nothing" integer,
	PRIMARY KEY ("id")
);
COMMENT ON COLUMN "public"."defaults"."id" IS 'mirrord:int';
COMMENT ON COLUMN "public"."defaults"."deleted" IS 'mirrord:bit';
COMMENT ON COLUMN "public"."defaults"."amount" IS 'mirrord:money';
COMMENT ON COLUMN "public"."defaults"."name" IS 'mirrord:nvarchar(50)';
COMMENT ON COLUMN "public"."defaults"."registered" IS 'mirrord:datetime';
COMMENT ON COLUMN "public"."defaults"."registered_utc" IS 'mirrord:datetime2(7)';
COMMENT ON COLUMN "public"."defaults"."stamp" IS 'mirrord:datetimeoffset(7)';
COMMENT ON COLUMN "public"."defaults"."guid" IS 'mirrord:uniqueidentifier';
COMMENT ON COLUMN "public"."defaults"."hash" IS 'mirrord:varbinary(8)';
COMMENT ON COLUMN "public"."defaults"."computed" IS 'mirrord:int';
COMMENT ON COLUMN "public"."defaults"."wrong_type" IS 'mirrord:int';
COMMENT ON COLUMN "public"."defaults"."nothing" IS 'mirrord:int';
ALTER TABLE "public"."defaults"
	ADD COLUMN "added" integer,
	ALTER COLUMN "added" SET DEFAULT '7'::integer,
	ALTER COLUMN "name" SET DEFAULT 'other'::character varying(50),
	ALTER COLUMN "deleted" DROP DEFAULT,
	ALTER COLUMN "computed" DROP DEFAULT;
COMMENT ON COLUMN "public"."defaults"."added" IS 'mirrord:int';
MERGE INTO "public"."defaults" AS dst
USING (SELECT DISTINCT ON ("id") * FROM "pg_temp"."#stage_1" ORDER BY "id", "#seq" DESC) AS src
ON dst."id" = src."id"
WHEN MATCHED AND src."#del" THEN DELETE
WHEN MATCHED THEN UPDATE SET "name" = src."name"
WHEN NOT MATCHED AND NOT src."#del" THEN INSERT ("id", "name", "amount", "registered", "registered_utc", "stamp", "guid", "hash")
	VALUES (src."id", src."name", NULL, NULL, NULL, NULL, NULL, NULL)
