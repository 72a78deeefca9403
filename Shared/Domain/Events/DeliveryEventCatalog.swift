/// The event types the delivery service writes besides the message events of `EventCatalog`:
/// templates, brands and the suppression list. Templates and brands hold no personal data (they
/// are the tenant's own content) and are in clear; a suppressed address is personal and sealed
/// under the address's subject key (`key_id` in the metadata), named in clear only by its
/// keyed hash `address_subject` (hash of the lowercased address).
extension EventCatalog {
    // MARK: Templates. Stream: `template-<template id>`.

    /// A template was created. Clear: `template_id` ("tem_" + 24 hex), `name`, `locale` (its default
    /// locale), `occurred_at` (ms).
    /// Always followed in the same append by its first `templateVersionAdded`.
    public static let templateCreated = "template.created"
    /// A version of a template was saved (it parsed). Clear: `template_id`, `version_id`
    /// ("ver_" + 24 hex), `name`, `subject`, `html`, `text`?, `locale`, `occurred_at` (ms). The newest
    /// version of a locale is that locale's default; the first version's locale is the
    /// template's default locale.
    public static let templateVersionAdded = "template.version_added"

    // MARK: Brands (`/v1/Brands`). Stream: `brand-<brand id>`.

    /// A brand was created or replaced (PUT). Clear: `brand_id`, `name`, `from` {address, name?},
    /// `reply_to`?, `list_unsubscribe`?, `templates` {token?, group?, tokenAndGroup?, purchase?:
    /// template ids}, `occurred_at` (ms).
    public static let brandSaved = "brand.saved"

    // MARK: Suppressions. Stream: `suppression-<address subject>`.

    /// An address may no longer be sent to (permanent bounce, spam complaint, unsubscribe).
    /// Clear: `address_subject`, `reason` (for example "bounced", "reported_as_spam",
    /// "unsubscribed"), `source` ("webhook:<provider>", "api", "smtp"), `occurred_at` (ms).
    /// Sealed (under the address subject's key): `address`.
    public static let suppressionAdded = "suppression.added"
    /// A suppression was lifted (audited). Clear: `address_subject`, `actor` (site id),
    /// `occurred_at` (ms). No personal data.
    public static let suppressionLifted = "suppression.lifted"

    /// The stream of a template.
    public static func templateStream(templateID: String) -> String { "template-" + templateID }
    /// The stream of a brand.
    public static func brandStream(brandID: String) -> String { "brand-" + brandID }
    /// The stream of a suppressed address.
    public static func suppressionStream(addressSubject: String) -> String { "suppression-" + addressSubject }
}
