SELECT CONVERT(nvarchar(128), DATABASEPROPERTYEX(DB_NAME(), N'Collation')),
	CONVERT(int, COLLATIONPROPERTY(CONVERT(nvarchar(128), DATABASEPROPERTYEX(DB_NAME(), N'Collation')), N'CodePage'));
SELECT name FROM sys.fn_helpcollations()
WHERE CONVERT(int, COLLATIONPROPERTY(name, N'CodePage')) = @p1 AND (name LIKE N'%[_]BIN2' OR name LIKE N'%[_]BIN2[_]UTF8')
ORDER BY name;
SELECT CAST(CASE WHEN COLLATIONPROPERTY(@p1, N'CodePage') IS NULL THEN 0 ELSE 1 END AS bit);
SELECT c.name, c.collation_name FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(@p1, N'U') AND c.collation_name IS NOT NULL
