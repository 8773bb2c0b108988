/// A run name is one folder under the runs folder: `--name ..` or `a/b` would put the run somewhere else, and a
/// leading dot would hide it.
public enum RunName {
    /// Why `name` is not a valid run name, or nil when it is.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "name must not be empty" }
        if name.contains("/") || name.contains("\\") { return "name must be one folder name without '/', got '\(name)'" }
        if name.hasPrefix(".") { return "name must not start with '.', got '\(name)'" }
        if name.contains("\0") || name.contains("\n") { return "name must not contain control characters" }
        return nil
    }
}
