-- The read-only role Grafana (and central teams' ad-hoc SQL) reads the fleet schema with.
--
-- Run it once per fleet instance, as the role that owns the fleet schema (the fleet's
-- database.url user: it ran the migrations, so it owns the tables) or as a superuser:
--
--   psql "$FLEET_DATABASE_URL" -v schema=fleet -v owner=fleet -v role=grafana_fleet \
--        -v password="$GRAFANA_FLEET_PG_PASSWORD" -f dashboards/grafana/readonly-role.sql
--
-- schema   the fleet's database.schema
-- owner    the role the fleet process connects as (it creates the tables of later migrations)
-- role     the role to create for Grafana
-- password its password (psql quotes it: any characters are safe)
--
-- The role's search_path is the fleet schema, so the dashboards' SQL names tables without a
-- schema and one dashboard JSON serves every fleet instance: give each instance its own role
-- (and data source). Its sessions are read-only and time-limited whatever SQL is typed in
-- Grafana's query editor.

CREATE ROLE :"role" LOGIN PASSWORD :'password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20;

GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";
GRANT USAGE ON SCHEMA :"schema" TO :"role";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"role";
-- tables a later migration adds (the contract only ever adds) are readable too
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"role";

ALTER ROLE :"role" SET search_path = :"schema";
ALTER ROLE :"role" SET default_transaction_read_only = on;
ALTER ROLE :"role" SET statement_timeout = '30s';
-- dashboard queries are short aggregations: JIT compilation (planned above jit_above_cost)
-- cost the lead-time panel ~1.8 s of its ~2.2 s on 43,200 hours, and saves nothing here
ALTER ROLE :"role" SET jit = off;
