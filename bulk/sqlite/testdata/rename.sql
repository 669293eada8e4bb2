ALTER TABLE "mirrord_rebuild_contact" RENAME TO "contact"
