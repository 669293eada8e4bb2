CREATE TEMP TABLE "#stage_1" ("#seq" bigint, "#del" boolean, "contact_id" integer, "associate_id" smallint, "name" character varying(220)) ON COMMIT DROP
