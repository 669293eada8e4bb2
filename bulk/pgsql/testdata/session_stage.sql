CREATE TEMP TABLE IF NOT EXISTS "#stage_986fcb04c4c828936aae08ada9d40e83" ("#seq" bigint, "#del" boolean, "contact_id" integer, "associate_id" smallint, "name" character varying(220));
TRUNCATE TABLE "pg_temp"."#stage_986fcb04c4c828936aae08ada9d40e83"
