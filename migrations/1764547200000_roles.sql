-- Up Migration
-- Roles are cluster-wide: every database on the server (and every test
-- database) shares them, so they are created idempotently and tolerate a
-- concurrent migration in another database creating them first.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['agentry_owner', 'agentry_app', 'agentry_readonly'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN
          NULL;
      END;
    END IF;
  END LOOP;
END
$$;

COMMENT ON ROLE agentry_owner IS 'Owns the agentry schema and every object in it; migrations run as this role.';
COMMENT ON ROLE agentry_app IS 'Services using the Agentry DAL: DML only, no DDL, audit_logs append-only, secret hashes only through verify functions.';
COMMENT ON ROLE agentry_readonly IS 'Dashboards and analysts: SELECT only, secret hashes hidden.';

-- node-pg-migrate created the schema for its bookkeeping table; from here on
-- the owner role owns it and everything the following migrations create.
ALTER SCHEMA agentry OWNER TO agentry_owner;
GRANT USAGE ON SCHEMA agentry TO agentry_app, agentry_readonly;

-- Down Migration
REVOKE USAGE ON SCHEMA agentry FROM agentry_app, agentry_readonly;
ALTER SCHEMA agentry OWNER TO CURRENT_USER;
-- The roles themselves are kept: another database on this server may still use them.
