import EventStore

/// The webhook module's tables, migrated under their own component (`delivery_webhooks`) so
/// their versions never collide with the delivery service's own migrations.
enum WebhookSchema {
    static let component = "delivery_webhooks"

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "webhook correlation, pending events, mailgun tokens",
            sql: """
                CREATE TABLE webhook_correlation (
                    tenant text NOT NULL,
                    message_hex text NOT NULL,
                    log_id text NOT NULL,
                    message_id_header text,
                    provider_message_id text,
                    PRIMARY KEY (tenant, message_hex)
                );
                CREATE INDEX webhook_correlation_header ON webhook_correlation (tenant, message_id_header)
                    WHERE message_id_header IS NOT NULL;
                CREATE INDEX webhook_correlation_provider_id ON webhook_correlation (tenant, provider_message_id)
                    WHERE provider_message_id IS NOT NULL;

                CREATE TABLE webhook_pending (
                    tenant text NOT NULL,
                    event_id uuid NOT NULL,
                    provider text NOT NULL,
                    event_data text NOT NULL,
                    log_hex text,
                    header_hex text,
                    message_id_header text,
                    provider_message_id text,
                    message_hex text,
                    received_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (tenant, event_id)
                );
                CREATE INDEX webhook_pending_log_hex ON webhook_pending (tenant, log_hex) WHERE message_hex IS NULL;
                CREATE INDEX webhook_pending_header_hex ON webhook_pending (tenant, header_hex) WHERE message_hex IS NULL;
                CREATE INDEX webhook_pending_header ON webhook_pending (tenant, message_id_header) WHERE message_hex IS NULL;
                CREATE INDEX webhook_pending_provider_id ON webhook_pending (tenant, provider_message_id)
                    WHERE message_hex IS NULL;
                CREATE INDEX webhook_pending_ready ON webhook_pending (received_at) WHERE message_hex IS NOT NULL;

                CREATE TABLE webhook_mailgun_tokens (
                    tenant text NOT NULL,
                    token text NOT NULL,
                    seen_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (tenant, token)
                );
                CREATE INDEX webhook_mailgun_tokens_seen ON webhook_mailgun_tokens (seen_at);
                """),
        // For `WebhookRetention`. A correlation row's send time: rows are written in about that
        // order, so a BRIN index (a few pages, next to nothing to maintain on the send path)
        // finds the old ones. Rows already there count from the migration. Unmatched pending
        // rows are found by their arrival through a partial index of their own.
        Migration(
            version: 2, name: "retention of correlation rows and unmatched events",
            sql: """
                ALTER TABLE webhook_correlation ADD COLUMN sent_at timestamptz NOT NULL DEFAULT now();
                CREATE INDEX webhook_correlation_sent_at ON webhook_correlation USING brin (sent_at);
                CREATE INDEX webhook_pending_unmatched_received ON webhook_pending (received_at)
                    WHERE message_hex IS NULL;
                """),
    ]
}
