import Crypto
import Foundation
import JSON
import Service
import Webhooks

/// Per-tenant webhook secrets and keys, from the JSON file named by `WEBHOOKS_CONFIG`:
/// `{"<site_id>": {"sendgrid": {"public_key": "<base64 DER SPKI>"}, "mailgun": {"signing_key":
/// "..."}, "postmark": {"username": "...", "password": "..."}, "ses": {"topic_arns": [...]}}}`.
/// A provider absent for a tenant refuses that tenant's webhooks.
public struct WebhookConfiguration: Sendable {
    /// One tenant's providers (nil: not configured).
    public struct Tenant: Sendable {
        public var sendGridPublicKey: ECDSAP256.PublicKey?
        public var mailgunSigningKey: String?
        public var postmarkCredentials: (username: String, password: String)?
        public var sesTopicARNs: [String]?

        public init() {}
    }

    public var tenants: [String: Tenant]
    /// Which SNS certificate and subscribe URLs may be fetched.
    public var snsURLPolicy: SNSCertificateURLPolicy

    public init(tenants: [String: Tenant] = [:], snsURLPolicy: SNSCertificateURLPolicy = SNSCertificateURLPolicy()) {
        self.tenants = tenants
        self.snsURLPolicy = snsURLPolicy
    }

    /// Reads `WEBHOOKS_CONFIG` (unset: no tenant has webhooks) and `SNS_CERT_URL_PREFIXES`.
    /// Throws a `ConfigurationError` naming the file problem, never a secret.
    public static func load(from environment: EnvironmentReader) throws -> WebhookConfiguration {
        let policy = SNSCertificateURLPolicy(commaSeparatedPrefixes: environment.read("SNS_CERT_URL_PREFIXES"))
        guard let path = environment.read("WEBHOOKS_CONFIG") else {
            return WebhookConfiguration(snsURLPolicy: policy)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("WEBHOOKS_CONFIG names a file that cannot be read")
        }
        var configuration = try parse(Array(data))
        configuration.snsURLPolicy = policy
        return configuration
    }

    /// Parses the file's JSON. Errors name the site and field, never values.
    public static func parse(_ bytes: [UInt8]) throws -> WebhookConfiguration {
        let root: JSON
        do {
            root = try JSON.parse(bytes)
        } catch {
            throw ConfigurationError("WEBHOOKS_CONFIG is not valid JSON (\(error))")
        }
        guard case .object(let sites) = root else {
            throw ConfigurationError("WEBHOOKS_CONFIG must be a JSON object keyed by site id")
        }
        var tenants: [String: Tenant] = [:]
        for (site, value) in sites {
            guard !site.isEmpty, case .object(let providers) = value else {
                throw ConfigurationError("WEBHOOKS_CONFIG: each site must map to an object of providers")
            }
            func fail(_ what: String) -> ConfigurationError {
                ConfigurationError("WEBHOOKS_CONFIG: site \(site.count <= 64 ? site : "(long id)"): \(what)")
            }
            var tenant = Tenant()
            for (provider, settings) in providers {
                guard case .object(let s) = settings else { throw fail("\(provider) must be an object") }
                switch provider {
                case "sendgrid":
                    guard let text = s["public_key"]?.stringValue else { throw fail("sendgrid.public_key is required") }
                    do {
                        tenant.sendGridPublicKey = try ECDSAP256.PublicKey(derBase64: text)
                    } catch {
                        throw fail("sendgrid.public_key is not a base64 DER P-256 public key")
                    }
                case "mailgun":
                    guard let key = s["signing_key"]?.stringValue, !key.isEmpty else {
                        throw fail("mailgun.signing_key is required")
                    }
                    tenant.mailgunSigningKey = key
                case "postmark":
                    guard let user = s["username"]?.stringValue, !user.isEmpty, let password = s["password"]?.stringValue,
                        !password.isEmpty
                    else { throw fail("postmark.username and postmark.password are required") }
                    tenant.postmarkCredentials = (user, password)
                case "ses":
                    guard let list = s["topic_arns"]?.arrayValue, !list.isEmpty else {
                        throw fail("ses.topic_arns must be a non-empty array")
                    }
                    var arns: [String] = []
                    for item in list {
                        guard let arn = item.stringValue, arn.hasPrefix("arn:") else {
                            throw fail("ses.topic_arns must hold SNS topic ARNs")
                        }
                        arns.append(arn)
                    }
                    tenant.sesTopicARNs = arns
                default:
                    throw fail("unknown provider \(provider.count <= 32 ? provider : "(long name)")")
                }
            }
            tenants[site] = tenant
        }
        return WebhookConfiguration(tenants: tenants)
    }
}
