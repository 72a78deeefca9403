import JSON

/// libFuzzer target: `JSON.parse` over arbitrary bytes, plus the round trip.
///
/// Invariants (a failure traps): parsing never traps; an error's offset lies within the input;
/// for every value that parses, `parse(serialize(v)) == v` and serialising again gives the same
/// bytes (the compact form is a fixed point); nesting stays within `JSON.maximumDepth`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let value: JSON
    do {
        value = try JSON.parse(input)
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside \(size) bytes")
        return 0
    }
    precondition(jsonDepth(value) <= JSON.maximumDepth, "nesting deeper than the maximum")
    let text = value.bytes
    let again: JSON
    do {
        again = try JSON.parse(text)
    } catch {
        fatalError("serialised value does not parse: \(error)")
    }
    precondition(again == value, "parse(serialize(v)) != v")
    precondition(again.bytes == text, "serialisation is not a fixed point")
    precondition(text.count <= 6 * size + 2, "serialised form grew from \(size) to \(text.count) bytes")
    return 0
}

/// Arrays and objects on the deepest path.
func jsonDepth(_ value: JSON) -> Int {
    switch value {
    case .array(let items): return 1 + (items.map(jsonDepth).max() ?? 0)
    case .object(let object): return 1 + (object.members.map { jsonDepth($0.value) }.max() ?? 0)
    default: return 0
    }
}
