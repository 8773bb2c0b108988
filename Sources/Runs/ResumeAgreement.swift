import Checkpoints
import Distributed
import Foundation

/// How the ranks of a resume agree on one checkpoint. Each rank reads the run folder as its node sees it, and a
/// node without the shared file system sees another folder (an empty one, an older copy); ranks that resumed
/// from different steps would train on with different parameters until a collective timed out. So rank 0 alone
/// chooses (the newest intact checkpoint, `CheckpointStore.loadNewestIntact`), every other rank reads exactly
/// that step, and when any rank cannot (missing there, damaged there, or its newest step differs from rank
/// 0's) or read other contents (`ParameterConsistency` hashes of every tensor), every rank throws the same
/// `RunError` naming the first such rank, so the job ends at once with one message from rank 0.
extension RunFolder {
    /// What one rank found when it looked for the chosen checkpoint; travels to every rank as one text.
    private struct RankView {
        var host: String
        /// The checkpoint folder in this rank's view (or, when rank 0 chose none, the newest one this rank sees).
        var path: String
        /// Empty when this rank read the chosen checkpoint.
        var problem: String

        private static let separator: Character = "\u{1F}"

        var text: String { [host, path, problem].joined(separator: String(Self.separator)) }

        init(host: String, path: String, problem: String = "") {
            self.host = host
            self.path = path
            self.problem = problem
        }

        init(text: String) {
            let parts = text.split(separator: Self.separator, maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            host = parts.count > 0 ? parts[0] : "?"
            path = parts.count > 1 ? parts[1] : "?"
            problem = parts.count > 2 ? parts[2] : ""
        }
    }

    /// Rank 0's choice, broadcast to every rank: the step to resume from and rank 0's newest complete step (each
    /// -1 for none), and whether rank 0 found every complete checkpoint damaged.
    private struct Choice {
        var step = -1
        var newest = -1
        var failed = false
    }

    /// The checkpoint every rank resumes from, the same on every rank, or nil on every rank (start afresh).
    func loadAgreedCheckpoint(files names: [String]) throws -> CheckpointStore.Loaded? {
        var choice = Choice()
        var loaded: CheckpointStore.Loaded?
        var view = RankView(host: communicator.hostName, path: checkpoints.folder.path)
        if communicator.isRoot {
            choice.newest = checkpoints.completeSteps().first ?? -1
            do {
                loaded = try checkpoints.loadNewestIntact(files: names, warn: log)
                choice.step = loaded?.step ?? -1
            } catch {
                choice.failed = true
                view.problem = "\(error)"
            }
        }
        choice = try broadcast(choice)
        if !communicator.isRoot && !choice.failed {
            (loaded, view) = readChosen(choice, files: names, view: view)
        }

        let views = try communicator.allgather(view.text, maxBytes: 2048).map(RankView.init(text:))
        if choice.failed { throw RunError.noIntactCheckpoint(problem: views[0].problem) }
        let failing = views.indices.filter { !views[$0].problem.isEmpty }
        if choice.step < 0, let rank = failing.first {
            // Rank 0 is the one that lacks the run folder the others see.
            throw RunError.checkpointNotOnEveryRank(
                rank: 0, host: views[0].host, path: views[0].path,
                problem: "rank 0 finds no checkpoint to resume from and would start afresh, but rank \(rank) on host "
                    + "\(views[rank].host) sees \(views[rank].problem) (\(views[rank].path))", others: 0)
        }
        try throwForFirstFailing(failing, views)

        guard let loaded else { return nil }
        if communicator.size > 1 {
            let hashes = try communicator.allgather(loaded.contentHash(names))
            var differing = views
            for rank in hashes.indices where hashes[rank] != hashes[0] {
                differing[rank].problem = "rank 0 resumes from step \(choice.step), and this rank's copy of it holds other "
                    + String(format: "values (content hash %016llx, rank 0's %016llx)", hashes[rank], hashes[0])
            }
            try throwForFirstFailing(hashes.indices.filter { hashes[$0] != hashes[0] }, differing)
        }
        return loaded
    }

    /// A rank other than 0: reads exactly the checkpoint rank 0 chose, or says why it cannot.
    private func readChosen(_ choice: Choice, files names: [String], view: RankView) -> (CheckpointStore.Loaded?, RankView) {
        var view = view
        let steps = checkpoints.completeSteps()
        guard choice.step >= 0 else {
            if let newest = steps.first {
                view.path = checkpoints.stepFolder(newest).path
                view.problem = "the checkpoint of step \(newest)"
            }
            return (nil, view)
        }
        view.path = checkpoints.stepFolder(choice.step).path
        let chosen = "rank 0 resumes from step \(choice.step)"
        guard steps.contains(choice.step) else {
            view.problem = "\(chosen), and this rank has no complete checkpoint of that step ("
                + (steps.first.map { "its newest is step \($0)" } ?? "it sees no checkpoint at all") + ")"
            return (nil, view)
        }
        guard steps.first == choice.newest else {
            view.problem = "\(chosen) (its newest complete checkpoint is step \(choice.newest)), but this rank's newest is step \(steps[0])"
            return (nil, view)
        }
        do {
            return (try checkpoints.load(step: choice.step, files: names), view)
        } catch {
            view.problem = "\(chosen), which fails its checks on this rank: \(error)"
            return (nil, view)
        }
    }

    private func broadcast(_ choice: Choice) throws -> Choice {
        var words: [Int64] = [Int64(choice.step), Int64(choice.newest), choice.failed ? 1 : 0]
        try words.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        return Choice(step: Int(words[0]), newest: Int(words[1]), failed: words[2] != 0)
    }

    /// Throws, on every rank alike, the error naming the first of `failing` (ascending ranks), if any.
    private func throwForFirstFailing(_ failing: [Int], _ views: [RankView]) throws {
        guard let first = failing.first else { return }
        throw RunError.checkpointNotOnEveryRank(rank: first, host: views[first].host, path: views[first].path,
                                                problem: views[first].problem, others: failing.count - 1)
    }
}

extension CheckpointStore.Loaded {
    /// One hash of the contents of `names` (every tensor's bytes, bit for bit, and the metadata), built from
    /// `ParameterConsistency.hash`, so ranks can prove they resumed from identical parameters and state.
    func contentHash(_ names: [String]) -> UInt64 {
        var combined: UInt64 = 0xCBF2_9CE4_8422_2325
        func add(_ bytes: [UInt8]) {
            // Whole Floats: pad to a multiple of 4 bytes (the length is hashed too).
            let padded = bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
            let hash = padded.withUnsafeBytes { raw in
                raw.withMemoryRebound(to: Float.self) { ParameterConsistency.hash($0) }
            }
            combined = (combined ^ hash ^ UInt64(bytes.count)) &* 0x0000_0100_0000_01B3
        }
        for name in names {
            guard let file = files[name] else { continue }
            add(Array(file.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined().utf8))
            for tensor in file.tensors { add(tensor.bytes) }
        }
        return combined
    }
}
