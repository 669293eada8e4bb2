UPDATE "contact" SET "name" = ?, "notes" = ? WHERE "contact_id" = ?
