INSERT INTO [dbo].[log] WITH (TABLOCK) ([line], [at])
	SELECT CAST(s.[line] AS varchar(100)) AS [line], s.[at] FROM [#mirrord_stage_1] AS s ORDER BY s.[#seq]
