import EventStore

/// The delivery service's read tables (component `delivery`). All rows are tenant-scoped; all
/// are rebuilt from the event table by the projections.
enum DeliverySchema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "templates, brands, customers, suppressions, outbox",
            sql: """
                CREATE TABLE IF NOT EXISTS delivery_templates (
                    tenant          text NOT NULL,
                    template_id     text NOT NULL,
                    name            text NOT NULL,
                    default_locale  text NOT NULL,
                    created_at      bigint NOT NULL,
                    PRIMARY KEY (tenant, template_id)
                );
                CREATE TABLE IF NOT EXISTS delivery_template_versions (
                    tenant       text NOT NULL,
                    template_id  text NOT NULL,
                    version_id   text NOT NULL,
                    name         text NOT NULL,
                    subject      text NOT NULL,
                    html         text NOT NULL,
                    text         text,
                    locale       text NOT NULL,
                    created_at   bigint NOT NULL,
                    position     bigint NOT NULL,
                    PRIMARY KEY (tenant, version_id)
                );
                CREATE INDEX IF NOT EXISTS delivery_template_versions_by_template
                    ON delivery_template_versions (tenant, template_id, position);
                CREATE TABLE IF NOT EXISTS delivery_brands (
                    tenant      text NOT NULL,
                    brand_id    text NOT NULL,
                    body        json NOT NULL,
                    updated_at  bigint NOT NULL,
                    PRIMARY KEY (tenant, brand_id)
                );
                CREATE TABLE IF NOT EXISTS delivery_customers (
                    tenant         text NOT NULL,
                    subject        text NOT NULL,
                    customer_id    text NOT NULL,
                    email          text,
                    email_subject  text,
                    attributes     json NOT NULL,
                    locale         text,
                    created        bigint NOT NULL,
                    updated        bigint NOT NULL,
                    PRIMARY KEY (tenant, subject)
                );
                CREATE INDEX IF NOT EXISTS delivery_customers_by_email ON delivery_customers (tenant, email_subject);
                CREATE TABLE IF NOT EXISTS delivery_suppressions (
                    tenant           text NOT NULL,
                    address_subject  text NOT NULL,
                    address          text,
                    reason           text NOT NULL,
                    source           text NOT NULL,
                    created_at       bigint NOT NULL,
                    PRIMARY KEY (tenant, address_subject)
                );
                CREATE TABLE IF NOT EXISTS delivery_outbox (
                    tenant             text NOT NULL,
                    message_hex        text NOT NULL,
                    state              text NOT NULL,
                    due_at             timestamptz NOT NULL,
                    lease_until        timestamptz,
                    attempts           integer NOT NULL DEFAULT 0,
                    version            bigint NOT NULL,
                    template_id        text NOT NULL,
                    template_name      text NOT NULL,
                    version_name       text NOT NULL,
                    locale             text NOT NULL,
                    recipient_subject  text NOT NULL,
                    created_at         bigint NOT NULL,
                    PRIMARY KEY (tenant, message_hex)
                );
                CREATE INDEX IF NOT EXISTS delivery_outbox_due ON delivery_outbox (due_at) WHERE state = 'pending';
                CREATE INDEX IF NOT EXISTS delivery_outbox_leased ON delivery_outbox (lease_until) WHERE state = 'sending';
                """),
        Migration(
            version: 2, name: "outbox vacuumed by dead rows, not by table size",
            sql: """
                -- Every message updates its outbox row two to four times, and none of those
                -- updates is HOT (they change indexed columns), so dead entries pile up in the
                -- small partial indexes the worker scans for due rows (10,100 entries in
                -- delivery_outbox_leased for ~100 live rows after 10,000 messages). The default
                -- trigger (20% of the table, which only grows) would let them reach millions;
                -- vacuum instead whenever 5,000 rows are dead.
                ALTER TABLE delivery_outbox SET (
                    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                    autovacuum_analyze_scale_factor = 0.02);
                """),
        Migration(
            version: 3, name: "the outbox holds only work still to do",
            sql: """
                -- Rows of finished messages (sent, dropped) were kept, never read, and rewritten
                -- at every provider event; the message columns were written and never read (the
                -- worker reads the request event). A finished message's row is now removed.
                DELETE FROM delivery_outbox WHERE state NOT IN ('pending', 'sending');
                ALTER TABLE delivery_outbox
                    DROP COLUMN template_id, DROP COLUMN template_name, DROP COLUMN version_name,
                    DROP COLUMN locale, DROP COLUMN recipient_subject, DROP COLUMN created_at;
                """),
    ]
}
