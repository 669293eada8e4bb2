LOCK TABLE "public"."contact", "public"."person" IN ACCESS EXCLUSIVE MODE;
SELECT 1 WHERE EXISTS (SELECT FROM "public"."contact")
UNION ALL SELECT 2 WHERE EXISTS (SELECT FROM "public"."person")
