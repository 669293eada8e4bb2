CREATE TABLE "contact" (
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
COMMENT ON COLUMN "contact"."contact_id" IS 'mirrord:int';
COMMENT ON COLUMN "contact"."associate_id" IS 'mirrord:smallint';
COMMENT ON COLUMN "contact"."active" IS 'mirrord:bit';
COMMENT ON COLUMN "contact"."rank" IS 'mirrord:tinyint';
COMMENT ON COLUMN "contact"."visits" IS 'mirrord:bigint';
COMMENT ON COLUMN "contact"."amount" IS 'mirrord:decimal(18,4)';
COMMENT ON COLUMN "contact"."price" IS 'mirrord:money';
COMMENT ON COLUMN "contact"."fee" IS 'mirrord:smallmoney';
COMMENT ON COLUMN "contact"."ratio" IS 'mirrord:float';
COMMENT ON COLUMN "contact"."weight" IS 'mirrord:real';
COMMENT ON COLUMN "contact"."born" IS 'mirrord:date';
COMMENT ON COLUMN "contact"."opens" IS 'mirrord:time(7)';
COMMENT ON COLUMN "contact"."registered" IS 'mirrord:datetime';
COMMENT ON COLUMN "contact"."updated" IS 'mirrord:datetime2(7)';
COMMENT ON COLUMN "contact"."seen" IS 'mirrord:smalldatetime';
COMMENT ON COLUMN "contact"."stamp" IS 'mirrord:datetimeoffset(3)';
COMMENT ON COLUMN "contact"."code" IS 'mirrord:char(4)';
COMMENT ON COLUMN "contact"."name" IS 'mirrord:nvarchar(220)';
COMMENT ON COLUMN "contact"."notes" IS 'mirrord:nvarchar(max)';
COMMENT ON COLUMN "contact"."memo" IS 'mirrord:ntext';
COMMENT ON COLUMN "contact"."doc" IS 'mirrord:xml';
COMMENT ON COLUMN "contact"."hash" IS 'mirrord:binary(8)';
COMMENT ON COLUMN "contact"."photo" IS 'mirrord:image';
COMMENT ON COLUMN "contact"."guid" IS 'mirrord:uniqueidentifier'
