/// The shared event table. Append-only is enforced by triggers that refuse UPDATE, DELETE and
/// TRUNCATE. `tx_id` records the committing transaction so readers can follow commit order
/// without skipping events (see `EventReader`).
public enum EventStoreSchema {
    public static let component = "event_store"

    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "events table",
            sql: """
                CREATE TABLE events (
                    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    event_id    uuid NOT NULL,
                    tenant      text NOT NULL,
                    stream      text NOT NULL,
                    version     bigint NOT NULL CHECK (version > 0),
                    type        text NOT NULL,
                    data        json NOT NULL,
                    metadata    json NOT NULL,
                    tx_id       xid8 NOT NULL DEFAULT pg_current_xact_id(),
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT events_event_id_key UNIQUE (event_id),
                    CONSTRAINT events_stream_version_key UNIQUE (tenant, stream, version)
                );
                CREATE INDEX events_commit_order ON events (tx_id, position);

                CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the events table is append-only' USING ERRCODE = 'P0001';
                END $$;
                CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
                    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
                CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
                    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

                CREATE TABLE projection_checkpoints (
                    name        text PRIMARY KEY,
                    tx_id       xid8 NOT NULL DEFAULT '0',
                    position    bigint NOT NULL DEFAULT 0,
                    updated_at  timestamptz NOT NULL DEFAULT now()
                );
                """),
        Migration(
            version: 2, name: "personal data keys",
            sql: """
                -- Keys for personal data live outside the append-only log, so they can be destroyed.
                -- Each key is wrapped (encrypted) under a master key from configuration.
                CREATE TABLE tenant_keys (
                    tenant        text PRIMARY KEY,
                    master_key_id text NOT NULL,
                    wrapped_key   bytea NOT NULL,
                    created_at    timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE subject_keys (
                    key_id        uuid PRIMARY KEY,
                    tenant        text NOT NULL,
                    subject       text NOT NULL,
                    master_key_id text NOT NULL,
                    wrapped_key   bytea NOT NULL,
                    created_at    timestamptz NOT NULL DEFAULT now()
                );
                CREATE UNIQUE INDEX subject_keys_one_live_key ON subject_keys (tenant, subject);
                """),
        Migration(
            version: 3, name: "projection failures",
            sql: """
                -- Events a projection could not apply after repeated tries, set aside so the
                -- projection stays live; an operator can fix the cause and rebuild.
                CREATE TABLE projection_failures (
                    name      text NOT NULL,
                    position  bigint NOT NULL,
                    event_id  uuid NOT NULL,
                    error     text NOT NULL,
                    failed_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (name, position)
                );
                """),
    ]
}
