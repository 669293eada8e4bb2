COPY "contact" ("contact_id", "name") FROM STDIN (FORMAT binary);
SELECT "contact_id", "name" FROM "contact"
