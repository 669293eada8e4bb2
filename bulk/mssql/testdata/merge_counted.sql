IF OBJECT_ID(N'tempdb..#mirrord_actions') IS NULL CREATE TABLE #mirrord_actions (a char(1) NOT NULL)
ELSE TRUNCATE TABLE #mirrord_actions;
MERGE INTO [dbo].[contact] WITH (HOLDLOCK) AS dst
USING (SELECT s.[#del], s.[contact_id], CAST(s.[code] AS varchar(20)) AS [code], CAST(s.[price] AS money) AS [price], s.[name]
	FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY [contact_id], [code] ORDER BY [#seq] DESC) AS [#rn] FROM [#mirrord_stage_1]) AS s
	WHERE s.[#rn] = 1) AS src
ON dst.[contact_id] = src.[contact_id] AND dst.[code] = src.[code]
WHEN MATCHED AND src.[#del] = 1 THEN DELETE
WHEN MATCHED THEN UPDATE SET [price] = src.[price], [name] = src.[name]
WHEN NOT MATCHED BY TARGET AND src.[#del] = 0 THEN INSERT ([contact_id], [code], [price], [name], [registered])
	VALUES (src.[contact_id], src.[code], src.[price], src.[name], NULL)
OUTPUT LEFT($action, 1) INTO #mirrord_actions (a);
SELECT COUNT_BIG(CASE WHEN a = 'I' THEN 1 END), COUNT_BIG(CASE WHEN a = 'U' THEN 1 END), COUNT_BIG(CASE WHEN a = 'D' THEN 1 END)
	FROM #mirrord_actions
