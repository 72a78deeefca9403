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

    @Test func binaryArraysRoundTripThroughTheServer() throws {
        let c = try PostgresConnection(url: try TestPostgres.makeDatabase())
        let texts = ["it's \"x\" \\ 100%", "é ✓", "", "{}"]
        let ids = [UUID(), UUID(), UUID()]
        var withNull = PostgresBinaryArray(.text)
        withNull.append("a")
        withNull.appendNull()
        withNull.append("c")
        var json = PostgresBinaryArray(.json)
        json.append(utf8: Array(#"{"a":[1,"\\"]}"#.utf8))
        let rows = try c.execute(
            """
            SELECT (SELECT array_agg(t ORDER BY o)::text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, o)),
                   (SELECT string_agg(u::text, ',' ORDER BY o) FROM unnest($2::uuid[]) WITH ORDINALITY AS x(u, o)),
                   (SELECT array_agg(v ORDER BY o)::text FROM unnest($3::bigint[]) WITH ORDINALITY AS x(v, o)),
                   $4::text[]::text, cardinality($5::text[]), (SELECT j->>'a' FROM unnest($6::json[]) AS j),
                   $7::text[] = ARRAY['it''s "x" \\ 100%', 'é ✓', '', '{}']
            """,
            [
                PostgresBinaryArray(texts: texts), PostgresBinaryArray(uuids: ids),
                PostgresBinaryArray(int64s: [1, -1, Int64.max, Int64.min]), withNull, PostgresBinaryArray(texts: []),
                json, PostgresBinaryArray(texts: texts),
            ])
        #expect(rows[0, 0] == PostgresArray(texts).postgresText)
        #expect(rows[0, 1] == ids.map { $0.uuidString.lowercased() }.joined(separator: ","))
        #expect(rows[0, 2] == "{1,-1,9223372036854775807,-9223372036854775808}")
        #expect(rows[0, 3] == "{a,NULL,c}")
        #expect(rows[0, 4] == "0")
        #expect(rows[0, 5] == #"[1,"\\"]"#)
        #expect(rows[0, 6] == "t")
        // The text form of a binary array is the same literal as PostgresArray's.
        #expect(PostgresBinaryArray(texts: texts).postgresText == PostgresArray(texts).postgresText)
        #expect(withNull.postgresText == #"{"a",NULL,"c"}"#)
        // Optional texts: nil becomes NULL, the same array as appending one by one.
        let optional: [String?] = ["a", nil, "c"]
        #expect(PostgresBinaryArray(texts: optional).postgresText == withNull.postgresText)
        #expect(try c.execute("SELECT $1::text[]::text", [PostgresBinaryArray(texts: optional)])[0, 0] == "{a,NULL,c}")
        // NUL cannot be stored in text: refused before anything is sent.
        #expect(throws: PostgresError.self) { try c.execute("SELECT $1::text[]", [PostgresBinaryArray(texts: ["a\u{0}b"])]) }
        // A statement whose parameter has another element type is refused by the server.
        #expect(throws: PostgresError.self) { try c.execute("SELECT $1::uuid[]", [PostgresBinaryArray(texts: ["x"])]) }
    }
}
