import EventStore

/// The trigger module's read and scheduling tables (component `delivery_triggers`, migrated by
/// `TriggerModule.init`). All rows are keyed by tenant; all are rebuilt from the event table.
enum TriggerSchema {
    static let component = "delivery_triggers"

    /// What a `scheduled_sends` row loses when it becomes final (sent or cancelled), for every
    /// statement that makes it so: the payload and the recipient's address, which a final row is
    /// never read for, and which must not outlive an erasure of the customer (migration 3).
    static let clearedWhenFinal = "payload = NULL, recipient_address = ''"

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "triggers, drip campaigns, customers, scheduled sends",
            sql: """
                CREATE TABLE IF NOT EXISTS trigger_definitions (
                    tenant        text NOT NULL,
                    trigger_id    uuid NOT NULL,
                    event_name    text NOT NULL,
                    definition    json NOT NULL,
                    active        boolean NOT NULL DEFAULT true,
                    created_at    bigint NOT NULL,
                    deactivated_at bigint,
                    PRIMARY KEY (tenant, trigger_id)
                );
                CREATE INDEX IF NOT EXISTS trigger_definitions_event
                    ON trigger_definitions (tenant, event_name) WHERE active;

                CREATE TABLE IF NOT EXISTS trigger_customers (
                    tenant      text NOT NULL,
                    subject     text NOT NULL,
                    customer_id text NOT NULL,
                    email       text,
                    attributes  json NOT NULL,
                    locale      text,
                    created_at  bigint NOT NULL,
                    updated_at  bigint NOT NULL,
                    PRIMARY KEY (tenant, subject)
                );

                CREATE TABLE IF NOT EXISTS drip_campaigns (
                    tenant      text NOT NULL,
                    campaign_id uuid NOT NULL,
                    name        text NOT NULL,
                    steps       json NOT NULL,
                    created_at  bigint NOT NULL,
                    PRIMARY KEY (tenant, campaign_id)
                );

                -- Sends decided by a trigger or scheduled by a drip activation, until appended.
                -- state: pending -> sent | cancelled (| cancelling -> cancelled, see migration 2). payload (plaintext) is blanked once final.
                CREATE TABLE IF NOT EXISTS scheduled_sends (
                    message_id        uuid PRIMARY KEY,
                    tenant            text NOT NULL,
                    kind              text NOT NULL,
                    due_at            bigint NOT NULL,
                    state             text NOT NULL DEFAULT 'pending',
                    recipient_address text NOT NULL,
                    payload           json,
                    trigger_id        uuid,
                    drip_campaign_id  uuid,
                    activation_id     uuid,
                    step_index        integer,
                    cause_event_id    uuid NOT NULL,
                    cancel_reason     text
                );
                CREATE INDEX IF NOT EXISTS scheduled_sends_due ON scheduled_sends (due_at) WHERE state = 'pending';
                CREATE INDEX IF NOT EXISTS scheduled_sends_recipient
                    ON scheduled_sends (tenant, recipient_address) WHERE state = 'pending';
                """),
        Migration(
            version: 2, name: "drip steps of suppressed recipients, waiting for their cancellation event",
            sql: """
                -- state 'cancelling': the recipient was suppressed; the dispatcher appends the
                -- drip.step_cancelled (with cancel_reason) and marks the row cancelled.
                CREATE INDEX IF NOT EXISTS scheduled_sends_cancelling ON scheduled_sends (message_id)
                    WHERE state = 'cancelling';
                """),
        Migration(
            version: 3, name: "final rows keep no recipient address",
            sql: """
                -- A row that is final (sent or cancelled) is never read for its recipient again;
                -- like its payload, its address is blanked when it becomes final, so an erased
                -- customer's address does not outlive the erasure here. Rows already final (a row
                -- `DripScheduler` has marked cancelled but not finalized still has its payload):
                UPDATE scheduled_sends SET recipient_address = '' WHERE state IN ('sent', 'cancelled') AND payload IS NULL;
                """),
    ]
}
