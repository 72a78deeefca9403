import EventStore

/// The query service's read tables (component `query`). Every table is keyed by tenant first;
/// each filter and sort of the read endpoints has an index.
enum QuerySchema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "read tables",
            sql: """
                CREATE TABLE query_customers (
                    tenant text NOT NULL,
                    subject text NOT NULL,
                    customer_id text NOT NULL,
                    email text,
                    attributes text NOT NULL,
                    locale text,
                    created bigint NOT NULL,
                    updated bigint NOT NULL,
                    PRIMARY KEY (tenant, subject)
                );
                CREATE UNIQUE INDEX query_customers_by_id ON query_customers (tenant, customer_id);
                CREATE INDEX query_customers_by_email ON query_customers (tenant, lower(email));

                CREATE TABLE query_customer_events (
                    tenant text NOT NULL,
                    position bigint NOT NULL,
                    subject text NOT NULL,
                    customer_id text NOT NULL,
                    name text NOT NULL,
                    data text NOT NULL,
                    occurred_at bigint NOT NULL,
                    PRIMARY KEY (tenant, position)
                );
                CREATE INDEX query_customer_events_by_customer
                    ON query_customer_events (tenant, customer_id, occurred_at DESC, position DESC);
                CREATE INDEX query_customer_events_by_subject ON query_customer_events (tenant, subject);

                CREATE TABLE query_logs (
                    tenant text NOT NULL,
                    message_id uuid NOT NULL,
                    has_request boolean NOT NULL DEFAULT false,
                    seq bigint,
                    created bigint,
                    status text,
                    message text,
                    recipient_subject text,
                    recipient_address text,
                    recipient_lower text,
                    recipient_name text,
                    template_id text,
                    template_name text,
                    template_version text,
                    locale text,
                    brand_id text,
                    owner_id text,
                    email_type text,
                    msg_details text,
                    state text,
                    sent_at bigint,
                    last_updated bigint,
                    delivered_date bigint,
                    bounce_type text,
                    bounce_sub_type text,
                    bounce_details text,
                    complaint_type text,
                    PRIMARY KEY (tenant, message_id)
                );
                CREATE INDEX query_logs_by_recipient
                    ON query_logs (tenant, recipient_lower, created DESC, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_history ON query_logs (tenant, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_history_brand ON query_logs (tenant, brand_id, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_history_state ON query_logs (tenant, state, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_history_brand_state
                    ON query_logs (tenant, brand_id, state, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_history_email ON query_logs (tenant, recipient_lower, seq DESC) WHERE has_request;
                CREATE INDEX query_logs_by_recipient_subject ON query_logs (tenant, recipient_subject);

                CREATE TABLE query_log_events (
                    tenant text NOT NULL,
                    message_id uuid NOT NULL,
                    position bigint NOT NULL,
                    status text NOT NULL,
                    occurred_at bigint NOT NULL,
                    provider text NOT NULL,
                    message text,
                    bounce_type text,
                    bounce_sub_type text,
                    bounce_details text,
                    complaint_type text,
                    url text,
                    PRIMARY KEY (tenant, message_id, position)
                );
                """),
        Migration(
            version: 2, name: "scheduled drip steps",
            sql: """
                -- Drip steps scheduled but not yet sent (nor cancelled): listed in the customer's logs
                -- with status "scheduled" until their message has events of its own.
                CREATE TABLE query_scheduled_drips (
                    tenant text NOT NULL,
                    message_id uuid NOT NULL,
                    position bigint NOT NULL,
                    created bigint NOT NULL,
                    due_at bigint NOT NULL,
                    template_id text,
                    recipient_subject text,
                    recipient_address text,
                    recipient_lower text,
                    recipient_name text,
                    PRIMARY KEY (tenant, message_id)
                );
                CREATE INDEX query_scheduled_drips_by_recipient ON query_scheduled_drips (tenant, recipient_lower, created DESC);
                CREATE INDEX query_scheduled_drips_by_subject ON query_scheduled_drips (tenant, recipient_subject);
                """),
        Migration(
            version: 3, name: "one runner for the read model",
            sql: """
                -- The read tables were built by two runners (query_customers, query_logs); one runner
                -- named query now builds them all. Empty them and drop the old checkpoints: the new
                -- runner replays the event table from position 0.
                DELETE FROM query_customers;
                DELETE FROM query_customer_events;
                DELETE FROM query_logs;
                DELETE FROM query_log_events;
                DELETE FROM query_scheduled_drips;
                DELETE FROM projection_checkpoints WHERE name IN ('query_customers', 'query_logs');
                """),
    ]
}
