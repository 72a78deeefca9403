import CCrypto

/// Why TLS could not be set up or failed. Descriptions carry OpenSSL's error text only.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// What failed, with OpenSSL's reason.
    public var description: String

    init(_ what: String) {
        var detail: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            detail.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        description = detail.isEmpty ? what : "\(what): \(detail.joined(separator: "; "))"
    }

    init(message: String) {
        description = message
    }
}

/// An OpenSSL client `SSL_CTX` built from a `TLSConfiguration`: TLS 1.2 or newer, peer
/// verification on (unless configured off) with the system or a given CA store.
///
/// `@unchecked Sendable`: the `SSL_CTX` is configured once in `init` and afterwards only used
/// to create `SSL` objects with `SSL_new`, which OpenSSL documents as thread-safe.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    let verifies: Bool

    init(_ configuration: TLSConfiguration) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError("SSL_CTX_new failed") }
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        var verifies = true
        switch configuration.verification {
        case .systemTrustStore:
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                SSL_CTX_free(context)
                throw TLSError("cannot load the system CA store")
            }
        case .caFile(let path):
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                SSL_CTX_free(context)
                throw TLSError("cannot load the CA file")
            }
        case .none:
            verifies = false
        }
        SSL_CTX_set_verify(context, verifies ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        self.context = context
        self.verifies = verifies
    }

    deinit {
        SSL_CTX_free(context)
    }
}
