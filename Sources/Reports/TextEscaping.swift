import Foundation

/// Text safe inside XML and HTML elements and attributes.
public func xmlEscape(_ text: String) -> String {
    escaping(text) { character in
        switch character {
        case "&": "&amp;"
        case "<": "&lt;"
        case ">": "&gt;"
        case "\"": "&quot;"
        case "'": "&#39;"
        default: nil
        }
    }
}

/// A JSON string literal with the escapes JSON requires.
func jsonString(_ text: String) -> String {
    let escaped = escaping(text.unicodeScalars) { scalar in
        switch scalar {
        case "\"": "\\\""
        case "\\": "\\\\"
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case _ where scalar.value < 0x20: String(format: "\\u%04x", scalar.value)
        default: nil
        }
    }
    return "\"" + escaped + "\""
}

/// `elements` (a string's characters or unicode scalars) written out in order, each one that `replacement`
/// names replaced by it: the loop XML and JSON escaping share.
func escaping<Elements: Sequence>(_ elements: Elements, _ replacement: (Elements.Element) -> String?) -> String
where Elements.Element: TextOutputStreamable {
    var out = ""
    for element in elements {
        if let replaced = replacement(element) {
            out += replaced
        } else {
            element.write(to: &out)
        }
    }
    return out
}
