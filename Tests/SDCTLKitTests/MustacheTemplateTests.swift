import Testing

@testable import SDCTLKit

/// Issue #29: the Mustache renderer of `watch --template`.
@Suite("Mustache templates")
struct MustacheTemplateTests {
    let context = TemplateValue.object([
        "name": .string("web"),
        "count": .number(2),
        "empty": .string(""),
        "stale": .bool(false),
        "instances": .list([
            .object(["address": .string("10.0.0.1:80"), "tags": .list([.string("a"), .string("b")])]),
            .object(["address": .string("10.0.0.2:80"), "zone": .string("eu-1"), "tags": .list([])]),
        ]),
        "meta": .object(["version": .string("2"), "url": .string("http://x/?a=1&b=<2>")]),
    ])

    func render(_ source: String) throws -> String {
        try MustacheTemplate(parsing: source).render(context)
    }

    @Test("variables, dotted names and text that is not HTML-escaped")
    func variables() throws {
        #expect(try render("{{name}} has {{count}}") == "web has 2")
        #expect(
            try render("{{meta.version}} {{meta.url}} {{{meta.url}}} {{& meta.url}}")
                == "2 http://x/?a=1&b=<2> http://x/?a=1&b=<2> http://x/?a=1&b=<2>")
        #expect(try render("[{{missing}}][{{meta.missing}}][{{name.deeper}}]") == "[][][]")
        #expect(try render("{{stale}} {{ name }}") == "false web")
    }

    @Test("sections over lists, objects and booleans; inverted sections; the context stack")
    func sections() throws {
        #expect(try render("{{#instances}}{{address}};{{/instances}}") == "10.0.0.1:80;10.0.0.2:80;")
        #expect(
            try render("{{#instances}}{{name}}/{{address}} {{/instances}}")
                == "web/10.0.0.1:80 web/10.0.0.2:80 ")
        #expect(
            try render("{{#instances}}{{#zone}}z={{zone}}{{/zone}}{{^zone}}none{{/zone}},{{/instances}}")
                == "none,z=eu-1,")
        #expect(try render("{{#instances}}{{tags}}|{{/instances}}") == "a,b||")
        #expect(try render("{{#instances}}{{#tags}}<{{.}}>{{/tags}}{{/instances}}") == "<a><b>")
        #expect(try render("{{#meta}}v{{version}}{{/meta}}") == "v2")
        #expect(try render("{{#stale}}STALE{{/stale}}{{^stale}}fresh{{/stale}}") == "fresh")
        #expect(try render("{{#empty}}x{{/empty}}{{^empty}}empty{{/empty}}") == "empty")
        #expect(try render("{{^instances}}none{{/instances}}") == "")
        #expect(try render("{{! a comment }}ok") == "ok")
    }

    @Test("a line holding only a section tag or a comment leaves nothing")
    func standaloneLines() throws {
        let source = """
            upstream web {
                {{#instances}}
                server {{address}};
                {{/instances}}
                {{! keepalive is set below }}
                keepalive 8;
            }

            """
        #expect(
            try render(source) == """
                upstream web {
                    server 10.0.0.1:80;
                    server 10.0.0.2:80;
                    keepalive 8;
                }

                """)
        #expect(try render("a {{#stale}}x{{/stale}} b\n") == "a  b\n")
        #expect(
            try render("{{#instances}}\r\n{{address}}\r\n{{/instances}}\r\n")
                == "10.0.0.1:80\r\n10.0.0.2:80\r\n")
    }

    @Test("errors name the line and column of the tag")
    func errors() {
        func failure(_ source: String) -> TemplateError? {
            do {
                _ = try MustacheTemplate(parsing: source)
                return nil
            } catch {
                return error
            }
        }
        #expect(
            failure("ok\n  {{#a}}\n") == TemplateError(line: 2, column: 3, message: "{{#a}} is never closed"))
        #expect(
            failure("{{#a}}\n{{/b}}")
                == TemplateError(line: 2, column: 1, message: "{{/b}} closes {{#a}} (opened at 1:1)"))
        #expect(failure("é {{/a}}")?.column == 3)
        #expect(failure("x {{name")?.message == "this tag is never closed with '}}'")
        #expect(failure("{{{name}}")?.message == "this tag is never closed with '}}}'")
        #expect(failure("{{> partial}}")?.message == "partials ({{> name}}) are not supported")
        #expect(failure("{{=<% %>=}}")?.message == "changing the delimiters ({{=<% %>=}}) is not supported")
        #expect(failure("{{a b}}")?.message.hasPrefix("'a b' is not a name") == true)
        #expect(failure("{{a..b}}") != nil)
        #expect(failure("{{}}") != nil)
        #expect(TemplateError(line: 3, column: 7, message: "m").located(in: "up.tmpl") == "up.tmpl:3:7: m")
    }

    @Test("hostile templates: deep nesting, huge sources and huge output are refused, not followed")
    func bounds() throws {
        let deep = String(repeating: "{{#a}}", count: 65) + String(repeating: "{{/a}}", count: 65)
        #expect(throws: TemplateError.self) { try MustacheTemplate(parsing: deep) }
        let fine = String(repeating: "{{#a}}", count: 64) + "x" + String(repeating: "{{/a}}", count: 64)
        let nested = try MustacheTemplate(parsing: fine)
        #expect(try nested.render(.object(["a": .bool(true)])) == "x")
        #expect(throws: TemplateError.self) {
            try MustacheTemplate(
                parsing: String(repeating: "x", count: MustacheTemplate.maximumSourceBytes + 1))
        }
        let many = TemplateValue.object(["i": .list(Array(repeating: .string("0123456789"), count: 10_000))])
        let template = try MustacheTemplate(parsing: "{{#i}}{{.}}{{/i}}")
        #expect(throws: TemplateError.self) { try template.render(many, limit: 50_000) }
        #expect(try template.render(many, limit: 100_000).utf8.count == 100_000)
        // Unclosed braces and stray closers are text or errors, never a hang.
        #expect(try render("}} {{! }} {") == "}}  {")
        #expect(try render(String(repeating: "{", count: 1)) == "{")
    }
}
