/// "Did you mean …?" for a misspelt name (an option value, a YAML key): the valid name nearest by edit
/// distance, ignoring case, `-` and `_`, when it is near enough to be the intended one.
public enum Suggestion {
    /// The closest of `candidates`, or nil when none is within a third of the name's length (at least 1).
    public static func closest(to name: String, among candidates: [String]) -> String? {
        let typed = normalised(name)
        guard !typed.isEmpty else { return nil }
        let limit = max(1, typed.count / 3)
        let scored = candidates.map { (candidate: $0, distance: editDistance(typed, normalised($0))) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= limit else { return nil }
        return best.candidate
    }

    /// " (did you mean 'x'?)" or "".
    public static func hint(for name: String, among candidates: [String]) -> String {
        closest(to: name, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// "KEY: unknown 'NAME'; known: A, B" and the hint, for each of `names` (a list-valued key's entries) that
    /// is not `known`.
    public static func unknownEntries(of key: String, _ names: [String], known: [String]) -> [String] {
        names.filter { !known.contains($0) }.map {
            "\(key): unknown '\($0)'; known: \(known.joined(separator: ", "))" + hint(for: $0, among: known)
        }
    }

    private static func normalised(_ text: String) -> [Character] {
        Array(text.lowercased().filter { $0 != "-" && $0 != "_" })
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], before[j - 2] + 1) }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }
}
