import Foundation
import Postgres

/// A PostgreSQL cluster of a test's own, which the test may stop and start again (outage tests).
/// Shares nothing with the process-wide cluster.
public final class PrivateCluster: Sendable {
    let directory: String
    let bin: String
    let port: Int
    let asPostgres: Bool
    let tls: Bool

    /// The URL of its `postgres` database.
    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    /// The certificate the server presents when started with `tls` (self-signed, for `127.0.0.1`):
    /// a client's `sslrootcert`.
    public var certificatePath: String { directory + "/data/server.crt" }

    /// `tls`: the server also accepts TLS, with a throwaway self-signed certificate.
    public init(tls: Bool = false) throws {
        bin = try TestCluster.binDirectory()
        asPostgres = getuid() == 0
        self.tls = tls
        directory = NSTemporaryDirectory() + "mailplatform-private-" + UUID().uuidString.prefix(8)
        port = TestCluster.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if asPostgres { try TestCluster.run(["/bin/chown", "postgres:postgres", directory], asPostgres: false) }
        try TestCluster.run(
            ["\(bin)/initdb", "-D", "\(directory)/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"],
            asPostgres: asPostgres)
        if tls {
            try SelfSignedCertificate.write(
                certificate: certificatePath, key: "\(directory)/data/server.key", asPostgres: asPostgres)
        }
        try start()
    }

    public func start() throws {
        try TestCluster.run(
            [
                "\(bin)/pg_ctl", "-D", "\(directory)/data", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
                    + (tls ? " -c ssl=on" : ""),
                "-l", "\(directory)/log", "-w", "-t", "60", "start",
            ], asPostgres: asPostgres)
    }

    /// Stops the server at once (`immediate`: like a crash of the database).
    public func stop() throws {
        try TestCluster.run(["\(bin)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], asPostgres: asPostgres)
    }

    /// Stops it and removes its files.
    public func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A throwaway self-signed certificate for `127.0.0.1` (P-256, two days), made with the openssl
/// CLI: a TLS server's own, and its clients' root.
public enum SelfSignedCertificate {
    /// Writes the certificate and its private key (mode 600), as the `postgres` user when
    /// `asPostgres` (for a server that runs as that user).
    public static func write(certificate: String, key: String, asPostgres: Bool = false) throws {
        try TestCluster.run(
            [
                "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
            ], asPostgres: asPostgres)
        try TestCluster.run(["/bin/chmod", "600", key], asPostgres: asPostgres)
    }
}
