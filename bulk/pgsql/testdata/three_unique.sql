DELETE FROM "public"."contact" AS dst USING "pg_temp"."#stage_1" AS src WHERE dst."contact_id" = src."contact_id" AND dst."associate_id" = src."associate_id" AND src."#del";
UPDATE "public"."contact" AS dst SET "name" = src."name" FROM "pg_temp"."#stage_1" AS src WHERE dst."contact_id" = src."contact_id" AND dst."associate_id" = src."associate_id" AND NOT src."#del";
INSERT INTO "public"."contact" ("contact_id", "associate_id", "name")
	SELECT src."contact_id", src."associate_id", src."name" FROM "pg_temp"."#stage_1" AS src
	WHERE NOT src."#del"
ON CONFLICT DO NOTHING
