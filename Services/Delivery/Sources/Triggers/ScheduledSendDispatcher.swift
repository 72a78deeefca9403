import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Privacy
import Service
import Synchronization
import ThreadSupport

/// Appends the `message.triggered` of each due row of `scheduled_sends`, once.
///
/// One dispatcher is active across replicas (a session advisory lock; the others stand by). It
/// polls the due rows (index on `due_at`), woken early by NOTIFY `delivery_scheduled` (sent when
/// the projection commits a new row) and otherwise sleeping until the next due time (at most
/// `pollInterval`), so a step fires well within a second of its due time; after an outage every
/// overdue row fires at the next start.
///
/// Exactly once: the message and event ids are deterministic, so appending again is a no-op in
/// the event store. For each row it (1) skips rows whose message stream already has events
/// (a replay, a crash after the append) and drip steps whose activation stream has a
/// cancellation, (2) seals the personal part, (3) in one transaction takes the send's advisory
/// lock, checks it is still pending, appends (waiting for durability) and marks it sent. A
/// deactivation takes the same lock before cancelling, so a step is sent or cancelled, never both.
/// (An advisory lock rather than `FOR UPDATE`: a row lock would give the transaction an id and
/// hold back every event reader, whose horizon is the oldest running transaction, during the append.)
///
/// It also appends the `drip.step_cancelled` of each `cancelling` row (a step whose recipient
/// was suppressed, marked by the trigger projection), with the suppression as the reason.
final class ScheduledSendDispatcher: BackgroundWorker, @unchecked Sendable {
    // @unchecked Sendable: `connection` is only used by the dispatcher's own thread; shared state
    // is `stopFlag` (Atomic), the notifier and the listener (both thread-safe).

    static let lockKey: Int64 = 7_270_101
    let pollInterval: TimeInterval = 0.25
    let standbyInterval: TimeInterval = 1

    let url: String
    let store: EventStore
    let vault: PersonalDataVault
    let logger: RequestLogger
    private let notifier = EventNotifier()
    private let listener: PostgresListener
    private let stopFlag = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var connection: PostgresConnection?

    init(url: String, store: EventStore, vault: PersonalDataVault, logger: RequestLogger) {
        self.url = url
        self.store = store
        self.vault = vault
        self.logger = logger
        let notifier = self.notifier
        listener = PostgresListener(url: url, channels: [TriggerProjection.notifyChannel]) { _, _ in notifier.signal() }
    }

    func start() {
        listener.start()
        let t = Thread { [self] in
            nameCurrentThread("trigger-disp")
            self.run()
        }
        t.name = "trigger-dispatcher"
        t.start()
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        notifier.signal()
        finished.wait()
        listener.stop()
    }

    private var isStopping: Bool { stopFlag.load(ordering: .relaxed) }

    private func run() {
        defer { finished.signal() }
        var isLeader = false
        while !isStopping {
            let seen = notifier.current
            do {
                if connection == nil || connection?.isUsable == false {
                    isLeader = false
                    connection = try PostgresConnection(url: url)
                }
                let c = connection!
                if !isLeader {
                    guard try c.execute("SELECT pg_try_advisory_lock($1)", [Self.lockKey])[0].bool(0) == true else {
                        notifier.wait(after: seen, timeout: standbyInterval)
                        continue
                    }
                    isLeader = true
                }
                let now = TriggerEvents.nowMilliseconds()
                let due = try c.execute(
                    """
                    SELECT message_id, tenant, kind, recipient_address, payload::text, trigger_id, drip_campaign_id,
                        activation_id, step_index, cause_event_id, due_at
                    FROM scheduled_sends WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at, step_index LIMIT 100
                    """, [now])
                for row in due.rows where !isStopping {
                    do { try fire(row, on: c) } catch {
                        // One bad send must not hold up the others; a broken connection ends the pass.
                        guard c.isConnected else { throw error }
                        logger.log(.error, "trigger dispatcher could not append a send", ["error": .string(String(describing: error))])
                    }
                }
                // Steps of recipients suppressed since they were scheduled: record why they stop.
                let cancelling = try c.execute(
                    """
                    SELECT message_id, tenant, recipient_address, drip_campaign_id, activation_id, step_index, cancel_reason
                    FROM scheduled_sends WHERE state = 'cancelling' ORDER BY message_id LIMIT 100
                    """)
                for row in cancelling.rows where !isStopping {
                    do { try cancel(row, on: c) } catch {
                        guard c.isConnected else { throw error }
                        logger.log(.error, "trigger dispatcher could not cancel a step", ["error": .string(String(describing: error))])
                    }
                }
                if due.count == 100 || cancelling.count == 100 { continue }
                let next = try c.execute("SELECT min(due_at) FROM scheduled_sends WHERE state = 'pending'")[0].int64(0)
                var wait = pollInterval
                if let next { wait = min(wait, max(0.005, Double(next - TriggerEvents.nowMilliseconds()) / 1000)) }
                notifier.wait(after: seen, timeout: wait)
            } catch {
                logger.log(.error, "trigger dispatcher error", ["error": .string(String(describing: error))])
                if connection?.isConnected == false {
                    connection = nil
                    isLeader = false
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        if isLeader, let c = connection { _ = try? c.execute("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        connection?.close()
    }

    private func uuid(_ text: String?) -> UUID? { text.flatMap(UUID.init(uuidString:)) }

    private func fire(_ row: PostgresRow, on c: PostgresConnection) throws {
        guard let id = uuid(row[0]), let tenant = row[1], let kind = row[2].flatMap(PendingSend.Kind.init(rawValue:)),
            let address = row[3], let causeID = uuid(row[9])
        else { return }
        let message = MessageIdentity(id)
        // (1) Already appended (replay, crash after the append) or cancelled in the event table?
        if try !EventReader.readStream(tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex), on: c).isEmpty {
            try mark(id, state: "sent", reason: nil, on: c)
            return
        }
        if kind == .drip, let activation = uuid(row[7]) {
            let cancelled = try EventReader.readStream(tenant: tenant, stream: TriggerEvents.activationStream(activation), on: c)
                .first { $0.type == TriggerEvents.dripStepCancelled && $0.data["message_id"]?.stringValue == message.messageID }
            if let cancelled {
                try mark(id, state: "cancelled", reason: cancelled.data["reason"]?.stringValue ?? "cancelled", on: c)
                return
            }
        }
        guard let payload = (try? JSON.parse(Array((row[4] ?? "").utf8)))?.objectValue,
            let clear = payload["clear"]?.objectValue, let personal = payload["personal"]?.objectValue
        else {
            try mark(id, state: "cancelled", reason: "unreadable payload", on: c)
            return
        }
        var send = PendingSend(
            tenant: tenant, message: message, kind: kind, dueAt: row.int64(10) ?? 0, recipientAddress: address, clear: clear,
            personal: personal, triggerID: uuid(row[5]), dripCampaignID: uuid(row[6]), activationID: uuid(row[7]),
            stepIndex: row.int(8), causeEventID: causeID)
        // (2) Seal under the recipient's key (committed before the append, which checks the key),
        // and name the template the way /send does.
        let subject = try vault.subjectHash(tenant: tenant, subject: address, on: c)
        // Naming is for the log only (the outbox resolves the template again when it renders), so a
        // failed read (the template tables missing where the module runs alone) sends unnamed.
        send.clear =
            (try? TriggeredTemplate.resolve(
                send.clear, tenant: tenant, recipientSubject: subject, readModel: DeliveryReadModel(pool: store.pool), on: c))
            ?? send.clear
        let key = try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
        let sealed = try vault.seal(.object(personal), with: key, tenant: tenant)
        let unit = send.event(recipientSubject: subject, sealed: sealed, keyID: key.id, occurredAt: TriggerEvents.nowMilliseconds())
        // (3) Append under the send's lock, then mark sent in the same transaction.
        do {
            try c.transaction {
                try c.execute("SELECT pg_advisory_xact_lock($1)", [TriggerEvents.sendLockKey(id)])
                let state = try c.execute("SELECT state FROM scheduled_sends WHERE message_id = $1", [id])
                guard state.rows.first?[0] == "pending" else { return }
                try appendAndWait(unit)
                try c.execute(
                    "UPDATE scheduled_sends SET state = 'sent', \(TriggerSchema.clearedWhenFinal) WHERE message_id = $1",
                    [id])
            }
        } catch AppendError.keyDestroyed {
            // An erasure raced us: the next pass seals under the subject's new key.
            vault.forgetWritingKey(tenant: tenant, subjectHash: subject)
        }
    }

    /// Appends the `drip.step_cancelled` of a `cancelling` row (suppressed recipient) under the
    /// send's lock and marks it cancelled; a step whose message was appended meanwhile is sent.
    private func cancel(_ row: PostgresRow, on c: PostgresConnection) throws {
        guard let id = uuid(row[0]), let tenant = row[1], let address = row[2], let activation = uuid(row[4]) else { return }
        let message = MessageIdentity(id)
        if try !EventReader.readStream(tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex), on: c).isEmpty {
            try c.execute(
                """
                UPDATE scheduled_sends SET state = 'sent', \(TriggerSchema.clearedWhenFinal)
                 WHERE message_id = $1 AND state = 'cancelling'
                """, [id])
            return
        }
        let subject = try vault.subjectHash(tenant: tenant, subject: address, on: c)
        let reason = row[6] ?? "recipient suppressed"
        let event = TriggerEvents.stepCancelled(
            message: message, campaignID: row[3] ?? "", activationID: activation, stepIndex: row.int(5) ?? 0,
            reason: reason, recipientSubject: subject, tenant: tenant, occurredAt: TriggerEvents.nowMilliseconds())
        try c.transaction {
            try c.execute("SELECT pg_advisory_xact_lock($1)", [TriggerEvents.sendLockKey(id)])
            let state = try c.execute("SELECT state FROM scheduled_sends WHERE message_id = $1", [id])
            guard state.rows.first?[0] == "cancelling" else { return }
            try appendAndWait(
                StreamAppend(tenant: tenant, stream: TriggerEvents.activationStream(activation), events: [event]))
            try c.execute(
                "UPDATE scheduled_sends SET state = 'cancelled', \(TriggerSchema.clearedWhenFinal) WHERE message_id = $1", [id])
        }
    }

    private func mark(_ id: UUID, state: String, reason: String?, on c: PostgresConnection) throws {
        try c.execute(
            """
            UPDATE scheduled_sends SET state = $2, cancel_reason = $3, \(TriggerSchema.clearedWhenFinal)
             WHERE message_id = $1 AND state = 'pending'
            """, [id, state, reason])
    }

    /// Appends from this dedicated thread and blocks it until the append is durable.
    private func appendAndWait(_ unit: StreamAppend) throws {
        let done = DispatchSemaphore(value: 0)
        let store = self.store
        let box = OutcomeBox()
        Task {
            do {
                try await store.append(unit)
                box.set(.success(()))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        try box.get()
    }
}

/// The result of an append handed from a Task to the waiting dispatcher thread.
private final class OutcomeBox: Sendable {
    private let value = Mutex<Result<Void, any Error>?>(nil)
    func set(_ r: Result<Void, any Error>) { value.withLock { $0 = r } }
    func get() throws { try value.withLock { $0 }?.get() }
}
