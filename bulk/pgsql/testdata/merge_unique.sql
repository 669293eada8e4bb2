MERGE INTO "public"."contact" AS dst
USING (SELECT * FROM "pg_temp"."#stage_2" ORDER BY "contact_id", "associate_id") AS src
ON dst."contact_id" = src."contact_id" AND dst."associate_id" = src."associate_id"
WHEN MATCHED AND src."#del" THEN DELETE
WHEN MATCHED THEN UPDATE SET "name" = src."name"
WHEN NOT MATCHED AND NOT src."#del" THEN INSERT ("contact_id", "associate_id", "name")
	VALUES (src."contact_id", src."associate_id", src."name")
