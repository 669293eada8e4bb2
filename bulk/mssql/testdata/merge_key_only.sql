MERGE INTO [dbo].[contact] WITH (HOLDLOCK) AS dst
USING (SELECT s.[#del], CAST(s.[code] AS varchar(20)) AS [code], s.[contact_id]
	FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY [contact_id], [code] ORDER BY [#seq] DESC) AS [#rn] FROM [#mirrord_stage_3]) AS s
	WHERE s.[#rn] = 1) AS src
ON dst.[contact_id] = src.[contact_id] AND dst.[code] = src.[code]
WHEN MATCHED AND src.[#del] = 1 THEN DELETE
WHEN NOT MATCHED BY TARGET AND src.[#del] = 0 THEN INSERT ([code], [contact_id], [registered], [name])
	VALUES (src.[code], src.[contact_id], NULL, NULL)
OUTPUT LEFT($action, 1) INTO #mirrord_actions (a);
