/// The small JSON subset a safetensors header uses, parsed by hand for two reasons Foundation's parser does
/// not serve: duplicate keys must be an error (JSONSerialization silently keeps one), and key order must be
/// kept so reading and rewriting a file is deterministic.
indirect enum HeaderJSON: Equatable {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    static func == (lhs: HeaderJSON, rhs: HeaderJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    struct ParseError: Error {
        let offset: Int
        let message: String
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws -> HeaderJSON {
        var parser = Parser(bytes: Array(bytes))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw ParseError(offset: parser.position, message: "trailing characters after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        func fail(_ message: String) -> ParseError { ParseError(offset: position, message: message) }

        mutating func expect(_ byte: UInt8) throws {
            guard position < bytes.count, bytes[position] == byte else {
                throw fail("expected '\(Character(Unicode.Scalar(byte)))'")
            }
            position += 1
        }

        mutating func value(depth: Int) throws -> HeaderJSON {
            guard depth < 64 else { throw fail("nesting too deep") }
            guard position < bytes.count else { throw fail("unexpected end of JSON") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[position])))'")
            }
        }

        mutating func literal(_ word: String) throws {
            for byte in word.utf8 { try expect(byte) }
        }

        mutating func object(depth: Int) throws -> HeaderJSON {
            try expect(UInt8(ascii: "{"))
            var members: [(key: String, value: HeaderJSON)] = []
            var seen = Set<String>()
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipSpace()
                let keyOffset = position
                let key = try string()
                guard seen.insert(key).inserted else { throw ParseError(offset: keyOffset, message: "duplicate key \"\(key)\"") }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws -> HeaderJSON {
            try expect(UInt8(ascii: "["))
            var elements: [HeaderJSON] = []
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipSpace()
                elements.append(try value(depth: depth + 1))
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(elements)
            }
        }

        mutating func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var utf8: [UInt8] = []
            while true {
                guard position < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: utf8, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw fail("unterminated escape") }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "u"):
                        let scalar = try unicodeEscape()
                        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: throw fail("invalid escape")
                    }
                case 0..<0x20:
                    throw fail("control character in string")
                default:
                    utf8.append(byte)
                }
            }
        }

        mutating func hexQuad() throws -> UInt32 {
            guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16) else {
                throw fail("invalid \\u escape")
            }
            position += 4
            return value
        }

        mutating func unicodeEscape() throws -> Unicode.Scalar {
            var code = try hexQuad()
            if (0xD800..<0xDC00).contains(code) {
                try literal("\\u")
                let low = try hexQuad()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(code) else { throw fail("invalid code point") }
            return scalar
        }

        mutating func number() throws -> HeaderJSON {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            var isInteger = true
            while position < bytes.count {
                let byte = bytes[position]
                if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1; continue }
                if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(byte) {
                    isInteger = false
                    position += 1
                    continue
                }
                break
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if isInteger, let value = Int(text) { return .integer(value) }
            guard !isInteger, let value = Double(text) else { throw ParseError(offset: start, message: "invalid number '\(text)'") }
            return .number(value)
        }
    }

    /// Compact JSON text with keys in the stored order.
    var serialized: String {
        switch self {
        case let .object(members):
            return "{" + members.map { HeaderJSON.quote($0.key) + ":" + $0.value.serialized }.joined(separator: ",") + "}"
        case let .array(elements): return "[" + elements.map(\.serialized).joined(separator: ",") + "]"
        case let .string(text): return HeaderJSON.quote(text)
        case let .integer(value): return String(value)
        case let .number(value): return String(value)
        case let .bool(value): return value ? "true" : "false"
        case .null: return "null"
        }
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += unicodeEscape(scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static func unicodeEscape(_ code: UInt32) -> String {
        let hex = String(code, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
