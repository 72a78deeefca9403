import CLibPQ

/// The rows of a completed statement, copied out of libpq so it can cross threads.
public struct PostgresRows: Sendable {
    /// Column names in order.
    public let columns: [String]
    /// Cells in row-major order; nil is SQL NULL. Values are PostgreSQL's text output.
    let cells: [String?]
    /// Rows affected by an INSERT/UPDATE/DELETE (`PQcmdTuples`), 0 otherwise.
    public let affectedRows: Int

    public var count: Int { columns.isEmpty ? 0 : cells.count / columns.count }
    public var isEmpty: Bool { count == 0 }

    public subscript(row: Int, column: Int) -> String? { cells[row * columns.count + column] }

    /// One row as a view with typed accessors.
    public subscript(row: Int) -> PostgresRow { PostgresRow(rows: self, index: row) }

    /// All rows in order.
    public var rows: [PostgresRow] { (0..<count).map { PostgresRow(rows: self, index: $0) } }

    init(result: OpaquePointer) {
        let n = Int(PQntuples(result))
        let m = Int(PQnfields(result))
        var columns: [String] = []
        columns.reserveCapacity(m)
        for c in 0..<m { columns.append(String(cString: PQfname(result, Int32(c)))) }
        var cells: [String?] = []
        cells.reserveCapacity(n * m)
        for r in 0..<n {
            for c in 0..<m {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    cells.append(nil)
                } else {
                    let len = Int(PQgetlength(result, Int32(r), Int32(c)))
                    let ptr = PQgetvalue(result, Int32(r), Int32(c))!
                    cells.append(
                        ptr.withMemoryRebound(to: UInt8.self, capacity: len) {
                            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
                        })
                }
            }
        }
        self.columns = columns
        self.cells = cells
        let tuples = String(cString: PQcmdTuples(result))
        self.affectedRows = Int(tuples) ?? 0
    }
}

/// One row of `PostgresRows` with typed accessors by column index.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    public subscript(column: Int) -> String? { rows[index, column] }
    public subscript(name: String) -> String? {
        guard let c = rows.columns.firstIndex(of: name) else { return nil }
        return rows[index, c]
    }
    public func string(_ column: Int) -> String? { self[column] }
    public func int64(_ column: Int) -> Int64? { self[column].flatMap { Int64($0) } }
    public func int(_ column: Int) -> Int? { self[column].flatMap { Int($0) } }
    public func double(_ column: Int) -> Double? { self[column].flatMap { Double($0) } }
    public func bool(_ column: Int) -> Bool? { self[column].map { $0 == "t" } }
    public func bytes(_ column: Int) -> [UInt8]? { self[column].flatMap { PostgresBytes.decode($0) } }
}
