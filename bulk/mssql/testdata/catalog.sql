SELECT t.name, c.name, ty.name, c.max_length, c.precision, c.scale, c.is_nullable,
	CAST(CASE WHEN ic.column_id IS NULL THEN 0 ELSE 1 END AS bit), COALESCE(c.collation_name, N'')
FROM [dbo].[Cust12020_mirroring] AS s
JOIN sys.tables AS t ON t.name = s.tablename COLLATE DATABASE_DEFAULT AND t.schema_id = SCHEMA_ID(N'dbo')
JOIN sys.columns AS c ON c.object_id = t.object_id
JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id
LEFT JOIN sys.indexes AS i ON i.object_id = t.object_id AND i.is_primary_key = 1
LEFT JOIN sys.index_columns AS ic ON ic.object_id = t.object_id AND ic.index_id = i.index_id AND ic.column_id = c.column_id
ORDER BY t.name, c.column_id;
SELECT i.name, i.is_primary_key, c.name
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.object_id = OBJECT_ID(@p1)
ORDER BY i.index_id, ic.key_ordinal, ic.index_column_id
