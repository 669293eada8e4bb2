TRUNCATE TABLE [#mirrord_stage_1];
DROP TABLE [#mirrord_stage_1]
