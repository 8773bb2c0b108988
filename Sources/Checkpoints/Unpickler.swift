/// A Python pickle value, as far as `torch.save` of a state_dict needs.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A class or function reference (`GLOBAL module name`), not yet called.
    case global(module: String, name: String)
    /// What calling a global produced, when the caller's `reduce` hook gave it meaning.
    case opaque(String)
    /// A domain value made by a hook (a tensor, a storage reference).
    case custom(AnyObjectBox)

    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case let .global(module, name): "\(module).\(name)"
        case let .opaque(name): name
        case .custom: "object"
        }
    }
}

/// Lists and dicts are mutated after they are memoised (EMPTY_DICT, BINPUT, ..., SETITEMS), so they are
/// reference types: the memo and the stack must see the same object.
final class PickleList {
    var elements: [PickleValue] = []
}

/// Insertion-ordered, like Python's dict and OrderedDict; keys are strings or ints in a state_dict.
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
    /// Attributes set by BUILD (an OrderedDict's `_metadata`), kept but not interpreted.
    var state: PickleValue?
}

/// Wraps a hook-made value so it can travel through the pickle stack.
final class AnyObjectBox {
    let value: Any
    init(_ value: Any) { self.value = value }
}

/// A minimal pickle virtual machine (protocols 2 to 5) for the opcodes `torch.save` emits for a state_dict.
///
/// It never imports or runs anything: GLOBAL only names a callable, and REDUCE/NEWOBJ ask the `reduce` hook
/// what a call means; BINPERSID asks the `persistentLoad` hook. An unknown callable is therefore an error
/// naming it, not code execution. Every read is bounds-checked, so a truncated or corrupted pickle raises
/// a `CheckpointError` with the byte offset and opcode.
struct Unpickler {
    typealias ReduceHook = (_ callable: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue
    typealias PersistentLoadHook = (_ persistentID: PickleValue) throws -> PickleValue

    let file: String
    let bytes: [UInt8]
    var position = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    let reduce: ReduceHook
    let persistentLoad: PersistentLoadHook

    init(_ bytes: [UInt8], file: String, reduce: @escaping ReduceHook, persistentLoad: @escaping PersistentLoadHook) {
        self.bytes = bytes
        self.file = file
        self.reduce = reduce
        self.persistentLoad = persistentLoad
    }

    func failure(_ message: String, at offset: Int? = nil) -> CheckpointError {
        CheckpointError(file: file, "pickle byte \(offset ?? position): \(message)")
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw failure("truncated: needs \(count) more bytes, \(bytes.count - position) left") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func byte() throws -> UInt8 { try take(1).first! }

    mutating func littleEndian(_ count: Int) throws -> UInt64 {
        var value: UInt64 = 0
        for (index, byte) in try take(count).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }

    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw failure("truncated: unterminated text line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw failure("stack underflow") }
        if let mark = marks.last, stack.count < mark { throw failure("stack underflow past a MARK") }
        return value
    }

    mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw failure("no MARK on the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func text(_ count: Int) throws -> String {
        guard let value = String(validating: try take(count), as: UTF8.self) else { throw failure("string is not valid UTF-8") }
        return value
    }

    mutating func setItems(_ items: [PickleValue], into target: PickleValue) throws {
        guard case let .dict(dict) = target else { throw failure("SETITEM(S) on a \(target.typeName), expected a dict") }
        guard items.count % 2 == 0 else { throw failure("SETITEMS with an odd number of values") }
        for index in stride(from: 0, to: items.count, by: 2) { dict.entries.append((items[index], items[index + 1])) }
    }

    mutating func appendItems(_ items: [PickleValue], to target: PickleValue) throws {
        guard case let .list(list) = target else { throw failure("APPEND(S) on a \(target.typeName), expected a list") }
        list.elements.append(contentsOf: items)
    }

    /// Runs the pickle to STOP and returns its value.
    mutating func load() throws -> PickleValue {
        while true {
            let offset = position
            let opcode = try byte()
            switch opcode {
            case 0x80: // PROTO
                let version = try byte()
                guard version <= 5 else { throw failure("pickle protocol \(version) is not supported", at: offset) }
            case 0x95: _ = try take(8) // FRAME: a length hint only
            case 0x2E: // STOP
                guard stack.count == 1 else { throw failure("STOP with \(stack.count) values on the stack", at: offset) }
                return stack[0]
            case 0x28: marks.append(stack.count) // MARK
            case 0x4E: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4B: stack.append(.int(Int64(try byte()))) // BININT1
            case 0x4D: stack.append(.int(Int64(try littleEndian(2)))) // BININT2
            case 0x4A: stack.append(.int(Int64(Int32(bitPattern: UInt32(try littleEndian(4)))))) // BININT
            case 0x8A: // LONG1
                let count = Int(try byte())
                guard count <= 8 else { throw failure("LONG1 of \(count) bytes is too large", at: offset) }
                let raw = try littleEndian(count)
                let shift = UInt64(64 - 8 * count)
                stack.append(.int(count == 0 ? 0 : Int64(bitPattern: raw << shift) >> Int64(shift)))
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try littleEndian(8))))) // BINFLOAT (big-endian)
            case 0x58: stack.append(.string(try text(Int(try littleEndian(4))))) // BINUNICODE
            case 0x8C: stack.append(.string(try text(Int(try byte())))) // SHORT_BINUNICODE
            case 0x8D: // BINUNICODE8
                let count = try littleEndian(8)
                guard count <= UInt64(bytes.count) else { throw failure("string length \(count) exceeds the pickle", at: offset) }
                stack.append(.string(try text(Int(count))))
            case 0x54: stack.append(.bytes(Array(try take(Int(try littleEndian(4)))))) // BINSTRING
            case 0x55: stack.append(.bytes(Array(try take(Int(try byte()))))) // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(Int(try littleEndian(4)))))) // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(Int(try byte()))))) // SHORT_BINBYTES
            case 0x29: stack.append(.tuple([])) // EMPTY_TUPLE
            case 0x85: stack.append(.tuple([try pop()])) // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b])) // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c])) // TUPLE3
            case 0x74: stack.append(.tuple(try popToMark())) // TUPLE
            case 0x5D: stack.append(.list(PickleList())) // EMPTY_LIST
            case 0x6C: let list = PickleList(); list.elements = try popToMark(); stack.append(.list(list)) // LIST
            case 0x7D: stack.append(.dict(PickleDict())) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popToMark()
                let dict = PickleDict()
                try setItems(items, into: .dict(dict))
                stack.append(.dict(dict))
            case 0x61: let value = try pop(); try appendItems([value], to: try top(offset)) // APPEND
            case 0x65: let items = try popToMark(); try appendItems(items, to: try top(offset)) // APPENDS
            case 0x73: let value = try pop(), key = try pop(); try setItems([key, value], into: try top(offset)) // SETITEM
            case 0x75: let items = try popToMark(); try setItems(items, into: try top(offset)) // SETITEMS
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popToMark() // POP_MARK
            case 0x32: stack.append(try top(offset)) // DUP
            case 0x71: memo[Int(try byte())] = try top(offset) // BINPUT
            case 0x72: memo[Int(try littleEndian(4))] = try top(offset) // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(offset) // MEMOIZE
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let key = opcode == 0x68 ? Int(try byte()) : Int(try littleEndian(4))
                guard let value = memo[key] else { throw failure("memo key \(key) was never stored", at: offset) }
                stack.append(value)
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line()
                stack.append(.global(module: module, name: try line()))
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case let .string(moduleName) = module, case let .string(globalName) = name else {
                    throw failure("STACK_GLOBAL needs two strings", at: offset)
                }
                stack.append(.global(module: moduleName, name: globalName))
            case 0x52: // REDUCE
                let arguments = try pop(), callable = try pop()
                guard case let .tuple(values) = arguments else { throw failure("REDUCE arguments are a \(arguments.typeName), expected a tuple", at: offset) }
                stack.append(try reduce(callable, values))
            case 0x81: // NEWOBJ
                let arguments = try pop(), callable = try pop()
                guard case let .tuple(values) = arguments else { throw failure("NEWOBJ arguments are a \(arguments.typeName), expected a tuple", at: offset) }
                stack.append(try reduce(callable, values))
            case 0x62: // BUILD: set state on the object below; only dicts keep it (OrderedDict._metadata)
                let state = try pop()
                if case let .dict(dict) = try top(offset) { dict.state = state }
            case 0x51: stack.append(try persistentLoad(try pop())) // BINPERSID
            default:
                throw failure("unsupported pickle opcode 0x\(String(opcode, radix: 16)) (not a PyTorch state_dict?)", at: offset)
            }
        }
    }

    func top(_ offset: Int) throws -> PickleValue {
        guard let value = stack.last else { throw failure("stack underflow", at: offset) }
        return value
    }
}
