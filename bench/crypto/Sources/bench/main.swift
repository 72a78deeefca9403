import Crypto
import Dispatch

/// Runs `body` `iterations` times and prints the mean per call.
func measure(_ label: String, iterations: Int = 100_000, _ body: () throws -> Int) rethrows {
    var sink = 0
    for _ in 0..<1_000 { sink &+= try body() }  // warm up
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<iterations { sink &+= try body() }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
    let perCall = elapsed / Double(iterations)
    print("\(label): \(iterations) in \(Int(elapsed / 1e6)) ms = \(Int(perCall)) ns/op  (sink \(sink & 1))")
}

let key = SymmetricKey.generate()
let plaintext = SecureRandom.bytes(200)
let aad = Array("tenant-42/stream-7".utf8)
let sealed = try AES256GCM.seal(plaintext, key: key, authenticating: aad)
let macKey = SecureRandom.bytes(32)
let mac = HMACSHA256(key: macKey)
let customerID = Array("customer-00012345@example.com".utf8)

try measure("AES-256-GCM seal 200 B") { try AES256GCM.seal(plaintext, key: key, authenticating: aad).count }
try measure("AES-256-GCM open 200 B") { try AES256GCM.open(sealed, key: key, authenticating: aad).count }
measure("HMAC-SHA256 one-shot (30 B msg)") { HMACSHA256.authenticationCode(key: macKey, message: customerID).count }
measure("HMAC-SHA256 reused key (30 B msg)") { mac.authenticationCode(for: customerID).count }
measure("SHA-256 (30 B)") { SHA256.hash(customerID).count }
measure("SecureRandom 12 B") { SecureRandom.bytes(12).count }
let ring = try MasterKeyring(configuration: MasterKeyring.generateEntry(id: "k1"))
let wrapped = ring.wrap(SymmetricKey.generate())
try measure("KeyWrap unwrap", iterations: 20_000) { try ring.unwrap(wrapped).bytes.count }
let ec = ECDSAP256.PrivateKey.generate()
let ecSig = ec.sign(plaintext)
let ecPub = ec.publicKey
measure("ECDSA P-256 verify 200 B", iterations: 2_000) { ecPub.isValidSignature(ecSig, for: plaintext) ? 1 : 0 }
