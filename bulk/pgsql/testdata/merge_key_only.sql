MERGE INTO "public"."contact" AS dst
USING (SELECT DISTINCT ON ("contact_id", "associate_id") * FROM "pg_temp"."#stage_3" ORDER BY "contact_id", "associate_id", "#seq" DESC) AS src
ON dst."contact_id" = src."contact_id" AND dst."associate_id" = src."associate_id"
WHEN MATCHED AND src."#del" THEN DELETE
WHEN NOT MATCHED AND NOT src."#del" THEN INSERT ("associate_id", "contact_id")
	VALUES (src."associate_id", src."contact_id")
