COPY "public"."contact" ("contact_id", "name") FROM STDIN (FORMAT binary);
SELECT "contact_id", "name" FROM "public"."contact"
