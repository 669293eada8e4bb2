SELECT state_desc, collation_name FROM sys.databases WHERE name = @p1;
CREATE DATABASE [Mirror_Cust12020];
CREATE DATABASE [Mirror_Cust12020] (EDITION = 'GeneralPurpose', SERVICE_OBJECTIVE = 'GP_S_Gen5_2');
CREATE DATABASE [Mirror_Cust12020] COLLATE Latin1_General_100_CI_AS_SC_UTF8 ( SERVICE_OBJECTIVE = ELASTIC_POOL ( name = [mirror-pool-1] ) )
