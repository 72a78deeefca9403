import Foundation
import Postgres
import TestSupport
import Testing

/// Parameter encoding on the append path (the Postgres target has no test target of its own).
@Suite struct PostgresParameterTests {
    @Test func arrayElementsAreQuotedAndEscaped() {
        #expect(PostgresArray(["a\"b", "c\\d", nil, "", "plain"]).postgresText == #"{"a\"b","c\\d",NULL,"","plain"}"#)
        #expect(PostgresArray(["\"\"", "\\"]).postgresText == #"{"\"\"","\\"}"#)
        #expect(PostgresArray([String]()).postgresText == "{}")
    }

    @Test func arraysRoundTripThroughTheServerAndNULIsRefused() throws {
        let c = try PostgresConnection(url: try TestPostgres.makeDatabase())
        let texts = ["it's \"x\" \\ 100%", "{\"a\":[1,\"\\\\\"]}", "é ✓", ""]
        let rows = try c.execute("SELECT unnest($1::text[])", [PostgresArray(texts)])
        #expect(rows.rows.map { $0[0] } == texts)
        #expect(throws: PostgresError.self) { try c.execute("SELECT $1::text", ["a\u{0}b"]) }
    }
}
