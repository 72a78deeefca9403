import Foundation

/// Decides whether an SNS `SigningCertURL` or `SubscribeURL` may be fetched.
///
/// By default only `https://sns.<region>.amazonaws.com/…` (and `….amazonaws.com.cn` for China
/// regions) on the default port, without userinfo, is allowed. For tests a list of URL prefixes
/// (`SNS_CERT_URL_PREFIXES`) replaces that rule: a URL is allowed when it starts with one of
/// them; end each prefix with `/` so that it cannot be extended into another host or port.
public struct SNSCertificateURLPolicy: Sendable, Hashable {
    /// The configured prefixes, or nil for the default AWS host rule.
    public let allowedPrefixes: [String]?

    /// A policy; `allowedPrefixes` nil (or empty) means the default AWS host rule.
    public init(allowedPrefixes: [String]? = nil) {
        let prefixes = allowedPrefixes?.filter { !$0.isEmpty }
        self.allowedPrefixes = (prefixes?.isEmpty ?? true) ? nil : prefixes
    }

    /// A policy from the comma-separated value of `SNS_CERT_URL_PREFIXES` (nil or blank: default).
    public init(commaSeparatedPrefixes: String?) {
        let prefixes = commaSeparatedPrefixes?.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        self.init(allowedPrefixes: prefixes)
    }

    /// Whether a `SigningCertURL` may be fetched; under the default rule its path must also end
    /// in `.pem`.
    public func allowsSigningCertificateURL(_ url: String) -> Bool {
        guard allows(url) else { return false }
        if allowedPrefixes != nil { return true }
        guard let components = URLComponents(string: url) else { return false }
        return components.path.hasSuffix(".pem") && components.query == nil && components.fragment == nil
    }

    /// Whether a `SubscribeURL` may be fetched (GET to confirm a subscription).
    public func allowsSubscribeURL(_ url: String) -> Bool {
        allows(url)
    }

    /// Whether `url` is on an allowed host (default rule) or starts with a configured prefix.
    public func allows(_ url: String) -> Bool {
        // No whitespace, control characters, backslashes or non-ASCII anywhere: URL parsers
        // disagree about them.
        guard !url.isEmpty, url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }) else {
            return false
        }
        if let allowedPrefixes {
            return allowedPrefixes.contains { url.hasPrefix($0) }
        }
        let scheme = "https://"
        guard url.utf8.count > scheme.utf8.count, url.lowercased().hasPrefix(scheme) else { return false }
        let rest = url.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else { return false }
        var authority = rest[..<slash].lowercased()
        if authority.hasSuffix(":443") { authority.removeLast(4) }
        guard Self.isSNSHost(authority) else { return false }
        // Cross-check with Foundation's reading of the same URL.
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "https",
            components.host?.lowercased() == authority, components.user == nil, components.password == nil,
            components.port == nil || components.port == 443
        else { return false }
        return true
    }

    /// `sns.<region>.amazonaws.com` or, for `cn-` regions, `sns.<region>.amazonaws.com.cn`,
    /// where a region reads like `us-east-1`, `us-gov-west-1`, `ap-southeast-2`.
    static func isSNSHost(_ host: String) -> Bool {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == 4 || labels.count == 5, labels[0] == "sns", labels[2] == "amazonaws", labels[3] == "com"
        else { return false }
        let region = labels[1]
        if labels.count == 5 {
            guard labels[4] == "cn", region.hasPrefix("cn-") else { return false }
        }
        return isRegion(region)
    }

    private static func isRegion(_ region: Substring) -> Bool {
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.count <= 4 else { return false }
        let letters = parts.dropLast()
        guard letters.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 97 && $0 <= 122 } }),
            letters.first?.utf8.count == 2,
            let number = parts.last, !number.isEmpty, number.utf8.count <= 2,
            number.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return false }
        return true
    }
}
