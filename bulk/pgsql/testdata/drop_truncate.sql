DROP TABLE IF EXISTS "public"."contact";
TRUNCATE TABLE "public"."contact", "public"."person";
SELECT count(*) FROM "public"."contact"
