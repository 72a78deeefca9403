import JSON

/// A change to a customer, as recorded in the event table, that `CustomerProfile.applying`
/// folds into the current profile. Times are unix seconds, passed in by the caller.
public enum CustomerChange: Sendable, Equatable {
    /// The customer was created or updated (an upsert): `attributes` are merged into the
    /// profile; `email` and `locale` replace the stored ones when present (nil keeps them).
    case created(email: String?, attributes: JSONObject, locale: String?, at: Int64)
    /// Same effect as `created`; recorded when the customer already existed.
    case updated(email: String?, attributes: JSONObject, locale: String?, at: Int64)
    /// The customer was deleted: the profile is gone and a later create starts empty.
    case deleted(at: Int64)
}

/// The current state of one customer, rebuilt by folding `CustomerChange`s in order.
public struct CustomerProfile: Sendable, Equatable {
    /// The customer's key (the customer.io `CUSTOMER_ID`, or the email for sendwithus).
    public var id: String
    public var email: String?
    /// Simple-typed attributes in first-seen order; numbers keep their literal text.
    public var attributes: JSONObject
    public var locale: String?
    /// Unix seconds of the creation that started this profile's life (since the last delete).
    public var created: Int64
    /// Unix seconds of the latest change applied.
    public var updated: Int64

    public init(
        id: String, email: String? = nil, attributes: JSONObject = [:], locale: String? = nil, created: Int64,
        updated: Int64
    ) {
        self.id = id
        self.email = email
        self.attributes = attributes
        self.locale = locale
        self.created = created
        self.updated = updated
    }

    /// The product's merge: every attribute `update` names replaces the existing one (keeping
    /// its position) or is appended; attributes `update` does not name are kept. Never removes.
    /// Values are copied as they are (a number stays a number, a string a string).
    public static func merge(existing: JSONObject, update: JSONObject) -> JSONObject {
        var result = existing
        for (name, value) in update.members { result[name] = value }
        return result
    }

    /// The profile after `change`: nil after a delete; a create or update on no profile starts
    /// a new one (empty attributes, `created` = the change's time); on an existing profile it
    /// merges and keeps `created`. `id` names a newly started profile (an existing one keeps its
    /// own). `updated` never moves back (changes are applied in recorded order, whatever their
    /// times). Does not validate: validate input before recording it.
    public static func applying(_ change: CustomerChange, to current: CustomerProfile?, id: String)
        -> CustomerProfile?
    {
        switch change {
        case .deleted:
            return nil
        case .created(let email, let attributes, let locale, let at), .updated(let email, let attributes, let locale, let at):
            var profile = current ?? CustomerProfile(id: id, created: at, updated: at)
            profile.attributes = merge(existing: profile.attributes, update: attributes)
            if let email { profile.email = email }
            if let locale { profile.locale = locale }
            profile.updated = max(profile.updated, at)
            return profile
        }
    }

    /// Folds `changes` (in recorded order) from nothing.
    public static func replay(_ changes: some Sequence<CustomerChange>, id: String) -> CustomerProfile? {
        var profile: CustomerProfile? = nil
        for change in changes { profile = applying(change, to: profile, id: id) }
        return profile
    }

    /// Applies `change` to this profile; returns false (and leaves `self` unchanged) when the
    /// change deletes the customer, so the caller must drop the profile.
    public mutating func apply(_ change: CustomerChange) -> Bool {
        guard let next = Self.applying(change, to: self, id: id) else { return false }
        self = next
        return true
    }
}
