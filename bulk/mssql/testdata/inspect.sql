SELECT [contact_id], [code], [active], [rank], [visits], [total], [amount], [share], [price], [fee], [ratio], [weight], [born], [opens], [registered], [updated], [seen], [stamp], [initials], [title], [flag], [name], [notes], [legacy], [memo], [hash], [blob], [photo], [guid], [doc], [version] FROM [dbo].[contact] ORDER BY [contact_id], [code];
SELECT [line] FROM [dbo].[log];
SELECT CASE WHEN DB_ID(@p1) IS NULL THEN 0 ELSE 1 END
