CREATE TABLE "public"."log" (
	"line" character varying(100)
);
COMMENT ON COLUMN "public"."log"."line" IS 'mirrord:nvarchar(100)'
