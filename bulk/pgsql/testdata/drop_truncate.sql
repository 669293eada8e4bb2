DROP TABLE IF EXISTS "contact";
TRUNCATE TABLE "contact", "person";
SELECT count(*) FROM "contact"
