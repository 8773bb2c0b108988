/// The canonical form of a user-supplied name (optimizer, schedule): lower-cased, surrounding whitespace
/// removed, so "  AdamW\n" from a YAML file or a shell parses like "adamw".
func normalisedName(_ name: String) -> String {
    let leadingTrimmed = name.drop(while: \.isWhitespace)
    let end = leadingTrimmed.lastIndex(where: { !$0.isWhitespace }).map(leadingTrimmed.index(after:))
        ?? leadingTrimmed.startIndex
    return leadingTrimmed[..<end].lowercased()
}
