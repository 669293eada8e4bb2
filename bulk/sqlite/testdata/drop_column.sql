ALTER TABLE "contact" DROP COLUMN "picture"
