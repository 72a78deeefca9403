import Domain
import JSON
import Testing

@Suite struct TemplateRenderingTests {
    func render(_ source: String, _ context: JSON, escapeHTML: Bool = true) throws -> String {
        try Template.parse(source).render(context, escapeHTML: escapeHTML)
    }

    @Test func variablesAndEscaping() throws {
        let ctx: JSON = ["name": "Tom & \"Jerry\" <b>'s</b>", "n": .number("23.45"), "t": true, "z": nil]
        #expect(try render("Hi {{name}}!", ctx) == "Hi Tom &amp; &quot;Jerry&quot; &lt;b&gt;&#39;s&lt;/b&gt;!")
        #expect(try render("Hi {{name}}!", ctx, escapeHTML: false) == "Hi Tom & \"Jerry\" <b>'s</b>!")
        #expect(try render("{{{name}}}", ctx) == "Tom & \"Jerry\" <b>'s</b>")
        #expect(try render("{{& name}}", ctx) == "Tom & \"Jerry\" <b>'s</b>")
        #expect(try render("{{n}} {{t}} [{{z}}] [{{missing}}]", ctx) == "23.45 true [] []")
        #expect(try render("{{ name }}", ["name": "x"]) == "x")
        #expect(try render("no tags at all", [:]) == "no tags at all")
        #expect(try render("", [:]) == "")
    }

    @Test func dottedPathsAndCurrentItem() throws {
        let ctx: JSON = ["a": ["b": ["c": "deep"]], "x": "top"]
        #expect(try render("{{a.b.c}}", ctx) == "deep")
        #expect(try render("[{{a.b.missing}}][{{a.x}}]", ctx) == "[][]")  // rest resolves strictly inside `a`
        #expect(try render("{{#a}}{{b.c}}{{/a}}", ctx) == "deep")
        #expect(try render("{{#list}}<{{.}}>{{/list}}", ["list": ["a", 1, true]]) == "<a><1><true>")
    }

    @Test func sectionsOverArraysObjectsAndScalars() throws {
        let ctx: JSON = [
            "items": [["name": "one"], ["name": "two"]], "user": ["name": "Ann"], "flag": true, "off": false,
            "empty": [], "word": "hi", "blank": "", "zero": 0, "emptyObject": [:], "title": "T",
        ]
        #expect(try render("{{#items}}{{name}},{{/items}}", ctx) == "one,two,")
        #expect(try render("{{#user}}Hello {{name}}{{/user}}", ctx) == "Hello Ann")
        #expect(try render("{{#flag}}yes{{/flag}}{{#off}}no{{/off}}", ctx) == "yes")
        #expect(try render("{{#empty}}x{{/empty}}{{#missing}}x{{/missing}}{{#blank}}x{{/blank}}{{#zero}}x{{/zero}}", ctx) == "")
        #expect(try render("{{#word}}[{{.}}]{{/word}}", ctx) == "[hi]")
        #expect(try render("{{#emptyObject}}shown{{/emptyObject}}", ctx) == "shown")
        // Lookup walks up the context stack.
        #expect(try render("{{#items}}{{title}}-{{name}} {{/items}}", ctx) == "T-one T-two ")
        // Nested arrays.
        #expect(try render("{{#rows}}[{{#.}}{{.}}{{/.}}]{{/rows}}", ["rows": [[1, 2], [3]]]) == "[12][3]")
    }

    @Test func invertedSections() throws {
        let ctx: JSON = ["empty": [], "off": false, "on": true, "list": [1]]
        #expect(try render("{{^empty}}none{{/empty}}", ctx) == "none")
        #expect(try render("{{^off}}off{{/off}}{{^on}}on{{/on}}{{^list}}list{{/list}}{{^missing}}missing{{/missing}}", ctx) == "offmissing")
    }

    @Test func commentsAreDropped() throws {
        #expect(try render("a{{! a comment }}b{{!\nmulti\nline}}c", [:]) == "abc")
    }

    @Test func unicodeAndBracesInText() throws {
        #expect(try render("é { } }} {{x}} ✓", ["x": "ü"]) == "é { } }} ü ✓")
    }

    @Test func outputLimitTruncatesOnCharacterBoundary() throws {
        let t = try Template.parse("{{#list}}é{{/list}}")
        let ctx: JSON = ["list": .array(Array(repeating: 1, count: 100))]
        let out = t.renderOutput(ctx, escapeHTML: true, limits: TemplateRenderLimits(maximumOutputBytes: 5))
        #expect(out.isTruncated)
        #expect(out.text == "éé")
        let full = t.renderOutput(ctx, escapeHTML: true, limits: TemplateRenderLimits(maximumOutputBytes: 200))
        #expect(!full.isTruncated)
        #expect(full.text.utf8.count == 200)
        let cut = try Template.parse("{{x}}").renderOutput(["x": "abcdef"], escapeHTML: false, limits: TemplateRenderLimits(maximumOutputBytes: 4))
        #expect(cut == TemplateOutput(text: "abcd", isTruncated: true))
    }

    @Test func stepLimitStopsExplosiveNesting() throws {
        // 8 nested loops over 100 items = 10^16 iterations without the step limit.
        let source = String(repeating: "{{#a}}", count: 8) + String(repeating: "{{/a}}", count: 8)
        let t = try Template.parse(source)
        let ctx: JSON = ["a": .array(Array(repeating: 1, count: 100))]
        let out = t.renderOutput(ctx, escapeHTML: true, limits: TemplateRenderLimits(maximumSteps: 10_000))
        #expect(out.isTruncated)
        #expect(out.text == "")
    }
}

@Suite struct TemplateParseErrorTests {
    func parseError(_ source: String) -> TemplateError? {
        do {
            _ = try Template.parse(source)
            return nil
        } catch { return error }
    }

    @Test func unclosedSection() {
        #expect(parseError("Hello\n  {{#items}}x") == TemplateError(kind: .unclosedSection(name: "items"), line: 2, column: 3))
        #expect(parseError("{{#a}}{{^b}}") == TemplateError(kind: .unclosedSection(name: "b"), line: 1, column: 7))
    }

    @Test func mismatchedAndUnexpectedCloseTags() {
        #expect(parseError("{{#a}}\nxy{{/b}}") == TemplateError(kind: .mismatchedCloseTag(expected: "a", found: "b"), line: 2, column: 3))
        #expect(parseError("ab{{/a}}") == TemplateError(kind: .unexpectedCloseTag(name: "a"), line: 1, column: 3))
    }

    @Test func unclosedTag() {
        #expect(parseError("line1\nline2\néé{{name") == TemplateError(kind: .unclosedTag, line: 3, column: 3))
        #expect(parseError("{{{raw}}") == TemplateError(kind: .unclosedTag, line: 1, column: 1))
        #expect(parseError("x {{! never closed") == TemplateError(kind: .unclosedTag, line: 1, column: 3))
    }

    @Test func emptyAndInvalidNames() {
        #expect(parseError("a{{}}") == TemplateError(kind: .emptyTagName, line: 1, column: 2))
        #expect(parseError("{{  }}") == TemplateError(kind: .emptyTagName, line: 1, column: 1))
        #expect(parseError("\n{{# }}{{/ }}") == TemplateError(kind: .emptyTagName, line: 2, column: 1))
        #expect(parseError("{{{ }}}") == TemplateError(kind: .emptyTagName, line: 1, column: 1))
        #expect(parseError("{{&}}") == TemplateError(kind: .emptyTagName, line: 1, column: 1))
        #expect(parseError("{{a b}}") == TemplateError(kind: .invalidTagName, line: 1, column: 1))
        #expect(parseError("{{a..b}}") == TemplateError(kind: .invalidTagName, line: 1, column: 1))
        #expect(parseError("{{> partial}}") == TemplateError(kind: .unsupportedTag, line: 1, column: 1))
        #expect(parseError("{{=<% %>=}}") == TemplateError(kind: .unsupportedTag, line: 1, column: 1))
    }

    @Test func depthLimit() throws {
        let depth = Template.maximumSectionDepth
        let ok = String(repeating: "{{#a}}", count: depth) + String(repeating: "{{/a}}", count: depth)
        _ = try Template.parse(ok)
        let tooDeep = String(repeating: "{{#a}}", count: depth + 1) + String(repeating: "{{/a}}", count: depth + 1)
        #expect(parseError(tooDeep) == TemplateError(kind: .nestingTooDeep(maximum: depth), line: 1, column: depth * 6 + 1))
    }

    @Test func descriptionHasPosition() {
        let e = TemplateError(kind: .unclosedTag, line: 3, column: 7)
        #expect(e.description == "template error at line 3, column 7: tag is not closed")
    }
}

@Suite struct RenderDataTests {
    @Test func requestWinsAndDeepMerges() {
        let customer: JSONObject = ["first_name": "Matt", "city": "SF", "address": ["zip": "94107", "street": "Main"]]
        let request: JSON = ["city": "Berlin", "order": 12, "address": ["zip": "10115"]]
        let merged = RenderData.merge(customer: customer, request: request)
        #expect(merged == ["first_name": "Matt", "city": "Berlin", "address": ["zip": "10115", "street": "Main"], "order": 12])
        #expect(merged.objectValue?.keys == ["first_name", "city", "address", "order"])
    }

    @Test func noRequestDataGivesTheCustomer() {
        #expect(RenderData.merge(customer: ["a": 1], request: nil) == ["a": 1])
        #expect(RenderData.merge(customer: ["a": 1], request: .null) == ["a": 1])
    }

    @Test func requestScalarsAndNullsReplace() {
        #expect(RenderData.merge(customer: ["a": ["b": 1]], request: ["a": "flat"]) == ["a": "flat"])
        #expect(RenderData.merge(customer: ["a": 1], request: ["a": nil]) == ["a": nil])
        #expect(RenderData.merge(customer: ["a": 1], request: [1, 2]) == [1, 2])
    }

    @Test func mergedDataRendersAsExpected() throws {
        let data = RenderData.merge(customer: ["first_name": "Matt", "price": .number("23.45")], request: ["first_name": "M."])
        #expect(try Template.parse("{{first_name}} pays {{price}}").render(data, escapeHTML: true) == "M. pays 23.45")
    }
}
