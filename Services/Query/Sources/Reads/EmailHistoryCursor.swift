import Crypto

/// The opaque `Next` cursor of `/v1/Email/`: the `seq` of the last email shown and the `After`
/// bound fixed when paging started.
///
/// Emails are listed by `seq` (the event position of the message's request), newest first.
/// `seq` never changes once a log exists, so an email updated while a client pages neither
/// moves nor repeats; emails requested after paging started have a higher `seq` than any shown
/// and never enter a later page. Nothing that existed is skipped.
struct EmailHistoryCursor: Equatable {
    var lastSeq: Int64
    var after: Int64?

    init(lastSeq: Int64, after: Int64?) {
        self.lastSeq = lastSeq
        self.after = after
    }

    /// The cursor's text (URL-safe base64 of `v1:<seq>:<after>`).
    var text: String { Base64.encodeURL(Array("v1:\(lastSeq):\(after.map(String.init) ?? "")".utf8)) }

    /// Parses a cursor; nil when `text` is not one this service made.
    init?(text: String) {
        guard let bytes = Base64.decodeURL(text) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let seq = Int64(parts[1]), seq >= 0 else { return nil }
        if parts[2].isEmpty {
            after = nil
        } else {
            guard let a = Int64(parts[2]) else { return nil }
            after = a
        }
        lastSeq = seq
    }
}
