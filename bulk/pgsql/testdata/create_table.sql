CREATE TABLE "public"."contact" (
	"contact_id" integer NOT NULL,
	"associate_id" smallint NOT NULL,
	"active" boolean NOT NULL,
	"rank" smallint,
	"visits" bigint,
	"amount" numeric(18,4),
	"price" numeric(19,4),
	"fee" numeric(10,4),
	"ratio" double precision,
	"weight" real,
	"born" date,
	"opens" time(6) without time zone,
	"registered" timestamp(3) without time zone,
	"updated" timestamp(6) without time zone,
	"seen" timestamp(0) without time zone,
	"stamp" timestamp(3) with time zone,
	"code" character varying(4),
	"name" character varying(220),
	"notes" text,
	"memo" text,
	"doc" text,
	"hash" bytea,
	"photo" bytea,
	"guid" uuid,
	PRIMARY KEY ("contact_id", "associate_id")
);
COMMENT ON COLUMN "public"."contact"."contact_id" IS 'mirrord:int';
COMMENT ON COLUMN "public"."contact"."associate_id" IS 'mirrord:smallint';
COMMENT ON COLUMN "public"."contact"."active" IS 'mirrord:bit';
COMMENT ON COLUMN "public"."contact"."rank" IS 'mirrord:tinyint';
COMMENT ON COLUMN "public"."contact"."visits" IS 'mirrord:bigint';
COMMENT ON COLUMN "public"."contact"."amount" IS 'mirrord:decimal(18,4)';
COMMENT ON COLUMN "public"."contact"."price" IS 'mirrord:money';
COMMENT ON COLUMN "public"."contact"."fee" IS 'mirrord:smallmoney';
COMMENT ON COLUMN "public"."contact"."ratio" IS 'mirrord:float';
COMMENT ON COLUMN "public"."contact"."weight" IS 'mirrord:real';
COMMENT ON COLUMN "public"."contact"."born" IS 'mirrord:date';
COMMENT ON COLUMN "public"."contact"."opens" IS 'mirrord:time(7)';
COMMENT ON COLUMN "public"."contact"."registered" IS 'mirrord:datetime';
COMMENT ON COLUMN "public"."contact"."updated" IS 'mirrord:datetime2(7)';
COMMENT ON COLUMN "public"."contact"."seen" IS 'mirrord:smalldatetime';
COMMENT ON COLUMN "public"."contact"."stamp" IS 'mirrord:datetimeoffset(3)';
COMMENT ON COLUMN "public"."contact"."code" IS 'mirrord:char(4)';
COMMENT ON COLUMN "public"."contact"."name" IS 'mirrord:nvarchar(220)';
COMMENT ON COLUMN "public"."contact"."notes" IS 'mirrord:nvarchar(max)';
COMMENT ON COLUMN "public"."contact"."memo" IS 'mirrord:ntext';
COMMENT ON COLUMN "public"."contact"."doc" IS 'mirrord:xml';
COMMENT ON COLUMN "public"."contact"."hash" IS 'mirrord:binary(8)';
COMMENT ON COLUMN "public"."contact"."photo" IS 'mirrord:image';
COMMENT ON COLUMN "public"."contact"."guid" IS 'mirrord:uniqueidentifier'
