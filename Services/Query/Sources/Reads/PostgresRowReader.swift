import Postgres

/// Reads a run of columns of a row, counted from `offset`.
struct PostgresRowReader {
    let row: PostgresRow
    var offset = 0

    func string(_ column: Int) -> String? { row[offset + column] }
    func int64(_ column: Int) -> Int64? { row.int64(offset + column) }
    func bool(_ column: Int) -> Bool? { row.bool(offset + column) }
}
