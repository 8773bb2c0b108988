import XCTest
@testable import Reports

/// The XML and JSON escapes the reports and the metrics log write: each special character replaced, every
/// other character (multi-scalar ones included) kept as it is.
final class TextEscapingTests: XCTestCase {
    func testXMLEscapeReplacesTheFiveSpecialCharacters() {
        XCTAssertEqual(xmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;")
        XCTAssertEqual(xmlEscape("👍🏽 é <"), "👍🏽 é &lt;")
        XCTAssertEqual(xmlEscape(""), "")
    }

    func testJSONStringQuotesAndEscapesControlCharacters() {
        XCTAssertEqual(jsonString("q\"b\\n\n\r\t\u{1}\u{1F}é"), "\"q\\\"b\\\\n\\n\\r\\t\\u0001\\u001fé\"")
        XCTAssertEqual(jsonString(""), "\"\"")
        XCTAssertEqual(jsonString("👍🏽 <&>"), "\"👍🏽 <&>\"")
    }
}
