-- Loads :n message events for tenant site1 straight into the event table: n/5 messages, each
-- requested → queued → sent → delivered → opened (5 events, one stream per message). The
-- request carries no sealed part (no recipient), so the load needs no keys; everything else
-- follows the payload contract. Run with: psql -v n=1000000 -f load.sql
\set ON_ERROR_STOP on
-- Optional -v first=K numbers the messages from K+1 (to grow a loaded table further).
\if :{?first}
\else
\set first 0
\endif
SET synchronous_commit = off;
WITH m AS (
    SELECT i, md5('bench-message-' || i)::uuid AS id, 1700000000000 + i::bigint * 1000 AS t
    FROM generate_series(:first + 1, :first + (:n / 5)) AS i
), k(kind, status, type, dt, message, provider) AS (
    VALUES (1, 'requested', 'message.requested', 0, NULL, NULL),
           (2, 'queued', 'message.queued', 100, 'email queued', NULL),
           (3, 'sent', 'message.sent', 200, 'email sent through SendGrid', 'sendgrid'),
           (4, 'delivered', 'message.provider_event', 5000, NULL, 'sendgrid'),
           (5, 'opened', 'message.provider_event', 60000, NULL, 'sendgrid')
)
INSERT INTO events (event_id, tenant, stream, version, type, data, metadata)
SELECT md5('bench-event-' || m.i || '-' || k.kind)::uuid, 'site1', 'message-' || replace(m.id::text, '-', ''), k.kind,
       k.type,
       json_strip_nulls(json_build_object(
           'message_id', m.id::text, 'log_id', 'log_' || replace(m.id::text, '-', ''), 'status', k.status,
           'occurred_at', m.t + k.dt, 'message', k.message, 'provider', k.provider,
           'template_id', CASE WHEN k.kind = 1 THEN 'tem_' || (m.i % 50) END,
           'template_name', CASE WHEN k.kind = 1 THEN 'Template ' || (m.i % 50) END,
           'template_version', CASE WHEN k.kind = 1 THEN 'Version A' END,
           'locale', CASE WHEN k.kind = 1 THEN 'en-US' END,
           'brand_id', CASE WHEN k.kind = 1 THEN 'brand-' || (m.i % 10) END,
           'email_type', CASE WHEN k.kind = 1 THEN 'token' END,
           'recipient_subject', CASE WHEN k.kind = 1 THEN md5('bench-recipient-' || (m.i % 10000)) END,
           'provider_event_id', CASE WHEN k.kind >= 4 THEN md5('pe-' || m.i || '-' || k.kind) END,
           'message_id_header', CASE WHEN k.kind = 3 THEN '<log_' || replace(m.id::text, '-', '') || '@bench>' END)),
       '{"request_id":"bench"}'::json
FROM m CROSS JOIN k
ORDER BY m.i, k.kind;
ANALYZE events;
