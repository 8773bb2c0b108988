import Foundation
import TestSupport
import XCTest
@testable import Reports

/// Time stamps in metrics.jsonl, and its CSV and TensorBoard companions, read back byte by byte.
final class MetricsExportTests: ScratchFolderTestCase {
    override class var scratchPrefix: String { "l3rs-exports" }

    func testCRC32CKnownVectors() {
        // The check value of CRC-32C (RFC 3720 appendix B.4 and every CRC catalogue).
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        let crc: UInt32 = 0xE306_9283
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    /// One TFRecord: checks both masked CRCs and returns the payload.
    func records(_ url: URL) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var offset = 0, payloads: [[UInt8]] = []
        func uint32(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while offset < bytes.count {
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = Int(lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            XCTAssertEqual(uint32(offset + 8), CRC32C.masked(lengthBytes), "length CRC at byte \(offset)")
            let payload = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            XCTAssertEqual(uint32(offset + 12 + length), CRC32C.masked(payload), "data CRC at byte \(offset)")
            payloads.append(payload)
            offset += 16 + length
        }
        return payloads
    }

    /// A minimal protobuf reader: field number → raw values (varint as UInt64, fixed as bit patterns, bytes).
    func fields(_ bytes: [UInt8]) -> [(field: Int, value: Any)] {
        var out: [(Int, Any)] = [], index = 0
        func varint() -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                let byte = bytes[index]; index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = varint()
            switch key & 7 {
            case 0: out.append((Int(key >> 3), varint()))
            case 1: out.append((Int(key >> 3), Double(bitPattern: bytes[index..<(index + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))); index += 8
            case 5: out.append((Int(key >> 3), Float(bitPattern: bytes[index..<(index + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))); index += 4
            default:
                let length = Int(varint())
                out.append((Int(key >> 3), Array(bytes[index..<(index + length)]))); index += length
            }
        }
        return out
    }

    /// (step, wall time, [tag: value]) of every scalar event after the version record.
    func events(_ url: URL) throws -> [(step: Int, wallTime: Double, scalars: [String: Float])] {
        let payloads = try records(url)
        let first = fields(payloads[0])
        XCTAssertEqual(String(decoding: first.first { $0.field == 3 }?.value as? [UInt8] ?? [], as: UTF8.self), "brain.Event:2")
        return payloads.dropFirst().map { payload in
            let event = fields(payload)
            var scalars: [String: Float] = [:]
            for value in fields(event.first { $0.field == 5 }!.value as! [UInt8]) where value.field == 1 {
                let entry = fields(value.value as! [UInt8])
                let tag = String(decoding: entry.first { $0.field == 1 }!.value as! [UInt8], as: UTF8.self)
                scalars[tag] = entry.first { $0.field == 2 }!.value as? Float
            }
            return (Int(event.first { $0.field == 2 }!.value as! UInt64), event.first { $0.field == 1 }!.value as! Double, scalars)
        }
    }

    func testRecordsAreStampedAndExportedToCSVAndTensorBoard() throws {
        let url = folder.appendingPathComponent("metrics.jsonl")
        let start = Date(timeIntervalSince1970: 1_800_000_000.25)
        let clock = TestClock(start)
        let exports = MetricsLog.Exports(csvColumns: ["step", "loss", "test_accuracy"], tensorBoard: true)
        do {
            let log = try MetricsLog(url: url, exports: exports, clock: { clock.now })
            for step in 1...4 {
                var values: [(String, Double?)] = [("step", Double(step)), ("loss", 1 / Double(step))]
                if step % 2 == 0 { values.append(("test_accuracy", 0.5 + Double(step) / 10)) }
                if step == 3 { values.append(("loss_nan", .nan)) }
                try log.append(MetricsRecord(values))
                clock.now += 2
            }
        }
        let records = try MetricsLog.read(url: url)
        XCTAssertEqual(records.first?["time"] as? String, "2027-01-15T08:00:00.250Z")
        XCTAssertEqual((records.last?["wall_time"] as? NSNumber)?.doubleValue, 1_800_000_006.25)

        let csv = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").map(String.init), [
            "time,wall_time,step,loss,test_accuracy",
            "2027-01-15T08:00:00.250Z,1800000000.25,1,1,",
            "2027-01-15T08:00:02.250Z,1800000002.25,2,0.5,0.7",
            "2027-01-15T08:00:04.250Z,1800000004.25,3,0.3333333333333333,",
            "2027-01-15T08:00:06.250Z,1800000006.25,4,0.25,0.9",
        ])

        let tensorBoard = folder.appendingPathComponent("events.out.tfevents.metrics")
        let written = try events(tensorBoard)
        XCTAssertEqual(written.map(\.step), [1, 2, 3, 4])
        XCTAssertEqual(written.map(\.wallTime), [0, 2, 4, 6].map { 1_800_000_000.25 + $0 })
        XCTAssertEqual(written[1].scalars, ["loss": 0.5, "test_accuracy": 0.7])
        XCTAssertEqual(written[2].scalars, ["loss": Float(1.0 / 3)], "a non-finite value is left out")

        // A resumed run: the log is cut back to step 2 and reopened; the companions are rebuilt to match.
        try MetricsLog.truncate(url: url, key: "step", above: 2)
        let resumed = try MetricsLog(url: url, exports: exports, clock: { clock.now })
        try resumed.append(MetricsRecord([("step", 3), ("loss", 0.125)]))
        XCTAssertEqual(try events(tensorBoard).map(\.step), [1, 2, 3])
        XCTAssertEqual(try events(tensorBoard).last?.scalars, ["loss": 0.125])
        let rows = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows[2], "2027-01-15T08:00:02.250Z,1800000002.25,2,0.5,0.7")
        XCTAssertEqual(rows[3], "2027-01-15T08:00:08.250Z,1800000008.25,3,0.125,")
    }

    func testTensorBoardReadsTheFileWhenInstalled() throws {
        let url = folder.appendingPathComponent("metrics.jsonl")
        do {
            let log = try MetricsLog(url: url, exports: .init(tensorBoard: true))
            for step in 1...3 { try log.append(MetricsRecord([("step", Double(step)), ("loss", Double(step) / 4)])) }
        }
        let script = """
        import sys
        try:
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        except ImportError:
            print("absent"); sys.exit(0)
        accumulator = EventAccumulator("\(folder.path)"); accumulator.Reload()
        print([(e.step, e.value) for e in accumulator.Scalars("loss")])
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Without tensorboard the format is checked by testRecordsAreStampedAndExportedToCSVAndTensorBoard's reader
        // and the CRC vectors; with it, TensorBoard itself must read the curve.
        if output.trimmingCharacters(in: .whitespacesAndNewlines) != "absent" {
            XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "[(1, 0.25), (2, 0.5), (3, 0.75)]")
        }
    }

    func testCSVQuotesCells() {
        XCTAssertEqual(MetricsCSV.cell("plain"), "plain")
        XCTAssertEqual(MetricsCSV.cell("a,b"), "\"a,b\"")
        XCTAssertEqual(MetricsCSV.cell("say \"hi\""), "\"say \"\"hi\"\"\"")
    }
}

/// A settable time for stamped records (tests run one thread at a time on it).
final class TestClock: @unchecked Sendable {
    var now: Date
    init(_ start: Date) { now = start }
}
