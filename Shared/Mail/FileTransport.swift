import Foundation

/// Writes each message as `<message-id>.eml` (angle brackets dropped, unsafe characters
/// replaced by `_`) into a folder, for development and tests. Bcc recipients are not recorded.
public struct FileTransport: MailTransport {
    /// The folder the files go to; created when missing.
    public let directory: String
    private let builder: MIMEBuilder

    /// Creates a transport writing into `directory`.
    public init(directory: String, builder: MIMEBuilder = MIMEBuilder()) {
        self.directory = directory
        self.builder = builder
    }

    /// The file name used for a message id.
    public static func fileName(forMessageID messageID: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@=".utf8)
        var trimmed = Substring(messageID)
        if trimmed.hasPrefix("<") { trimmed = trimmed.dropFirst() }
        if trimmed.hasSuffix(">") { trimmed = trimmed.dropLast() }
        var name = String(decoding: trimmed.utf8.map { allowed.contains($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        if name.hasPrefix(".") { name = "_" + name.dropFirst() }
        return name + ".eml"
    }

    /// Renders and writes the message; the outcome's reply names the file.
    public func send(_ message: MailMessage) async -> SendOutcome {
        let bytes: [UInt8]
        do {
            bytes = try builder.render(message)
        } catch {
            return .permanent(reason: error.description)
        }
        let name = Self.fileName(forMessageID: message.messageID)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            return .temporary(reason: "cannot write \(name) into the mail folder")
        }
        return .accepted(providerReply: "written \(name)")
    }

    /// Nothing to release.
    public func close() async {}
}
