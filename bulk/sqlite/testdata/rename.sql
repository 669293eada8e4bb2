ALTER TABLE "#rebuild_contact" RENAME TO "contact"
