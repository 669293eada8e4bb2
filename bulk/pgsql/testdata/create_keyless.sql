CREATE TABLE "log" (
	"line" character varying(100)
);
COMMENT ON COLUMN "log"."line" IS 'mirrord:nvarchar(100)'
