SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	coalesce(a.attnum = ANY(p.conkey), false), coalesce(col_description(c.oid, a.attnum), '')
FROM "public"."Cust12020_mirroring" s
JOIN pg_class c ON c.relname = s.tablename AND s.tablename <> '#cycle' AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'
ORDER BY c.relname, a.attnum
