import HTTP
import JSON

/// libFuzzer target: `FormDecoder.decode` over arbitrary bytes.
///
/// Invariants (a failure traps): decoding never traps; a decoded form is an object whose leaves
/// are all strings, nested no deeper than `FormDecoder.maximumDepth`; it survives a JSON round
/// trip; and decoding is deterministic.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let decoded: JSON
    do {
        decoded = try FormDecoder.decode(body)
    } catch {
        precondition(error.status.code == 400, "form error status \(error.status.code)")
        return 0
    }
    guard case .object = decoded else { fatalError("form did not decode to an object") }
    let depth = formDepth(decoded)
    precondition(depth <= FormDecoder.maximumDepth, "form nested \(depth) deep")
    precondition((try? JSON.parse(decoded.bytes)) == decoded, "form value does not round-trip through JSON")
    precondition((try? FormDecoder.decode(body)) == decoded, "form decoding is not deterministic")
    return 0
}

/// Containers on the deepest path; every leaf must be a string.
func formDepth(_ value: JSON) -> Int {
    switch value {
    case .string: return 0
    case .array(let items): return 1 + (items.map(formDepth).max() ?? 0)
    case .object(let object): return 1 + (object.members.map { formDepth($0.value) }.max() ?? 0)
    default: fatalError("form leaf is not a string: \(value)")
    }
}
