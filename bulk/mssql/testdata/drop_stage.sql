TRUNCATE TABLE [#mirrord_stage_1];
DROP TABLE [#mirrord_stage_1];
TRUNCATE TABLE [#mirrord_stage_1];
TRUNCATE TABLE #mirrord_actions
