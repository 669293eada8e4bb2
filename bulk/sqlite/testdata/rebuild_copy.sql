INSERT INTO "#rebuild_contact" ("contact_id", "name", "balance", "registered") SELECT "contact_id", "name", "balance" || '00', "registered" FROM "contact"
