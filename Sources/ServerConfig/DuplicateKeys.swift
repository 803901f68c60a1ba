import Yams

/// Yams stops composing at the first mapping with a repeated key. To report every problem of the file,
/// the repeated key is renamed in the text to a placeholder (on the same line, so every line number
/// stays right), composing starts again, and the placeholder is reported as a duplicate and skipped.
extension ConfigParser {
    private static let placeholderPrefix = "__meridian_duplicate_key_"

    /// Composes `yaml`, renaming repeated mapping keys into `duplicates`; throws what Yams throws
    /// when a repeated key cannot be found in the text.
    mutating func composeKeepingDuplicates(_ yaml: String) throws -> Node? {
        var text = Array(yaml.unicodeScalars)
        while true {
            do {
                return try Yams.compose(yaml: String(String.UnicodeScalarView(text)))
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                let placeholder = Self.placeholderPrefix + "\(duplicates.count)__"
                guard let key = keys.first, duplicates.count < 10_000,
                      Self.renameRepeat(of: key, at: context.mark, in: &text, to: placeholder)
                else { throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context) }
                duplicates[placeholder] = (key, context.mark.line)
            }
        }
    }

    /// Whether `keyNode` is a renamed repeat, reported already by `reportDuplicates`.
    func isDuplicate(_ keyNode: Node) -> Bool {
        guard let s = keyNode.scalar?.string, s.hasPrefix(Self.placeholderPrefix) else { return false }
        return duplicates[s] != nil
    }

    /// Reports every renamed repeat under `node`, with its dotted path (`datacenters.iad`, `zones[1].file`).
    mutating func reportDuplicates(_ node: Node, path: String) {
        if let map = node.mapping {
            for (keyNode, value) in map {
                let name = keyNode.scalar?.string ?? "?"
                if let (key, firstLine) = duplicates[name] {
                    fail(.duplicateKey, keyNode, path.isEmpty ? key : path + "." + key,
                         "\"\(key)\" is already defined at line \(firstLine)")
                } else {
                    reportDuplicates(value, path: path.isEmpty ? name : path + "." + name)
                }
            }
        } else if let items = node.sequence {
            for (i, item) in items.enumerated() { reportDuplicates(item, path: path + "[\(i)]") }
        }
    }

    /// Finds the next occurrence of the key first written at `mark` in the same mapping and replaces it
    /// by `placeholder`; false when it cannot be found.
    private static func renameRepeat(of key: String, at mark: Mark, in text: inout [Unicode.Scalar], to placeholder: String) -> Bool {
        var lineStarts = [0]
        for (i, c) in text.enumerated() where c == "\n" { lineStarts.append(i + 1) }
        guard mark.line >= 1, mark.line <= lineStarts.count else { return false }
        let first = lineStarts[mark.line - 1] + mark.column - 1
        let forms = [key, "\"\(key)\"", "'\(key)'"].map { Array($0.unicodeScalars) }
        // The key as written at `i`, when it is followed by a colon.
        func keyForm(at i: Int) -> [Unicode.Scalar]? {
            for form in forms where i + form.count <= text.count && Array(text[i..<i + form.count]) == form {
                var j = i + form.count
                while j < text.count, text[j] == " " { j += 1 }
                if j < text.count, text[j] == ":" { return form }
            }
            return nil
        }
        guard first < text.count, let written = keyForm(at: first) else { return false }
        let column = mark.column - 1
        let lineStart = lineStarts[mark.line - 1]
        let isBlock = text[lineStart..<first].allSatisfy { $0 == " " || $0 == "-" }

        var found: (at: Int, form: [Unicode.Scalar])?
        if isBlock {
            // Sibling keys of a block mapping start at the same column; a line starting further left ends it.
            for start in lineStarts[mark.line...] {
                var i = start
                while i < text.count, text[i] == " " { i += 1 }
                if i >= text.count || text[i] == "\n" || text[i] == "#" { continue }
                if i - start < column { break }
                if i - start == column, let form = keyForm(at: i) { found = (i, form); break }
            }
        } else {
            // In a flow mapping, a sibling key follows a comma at the same nesting depth.
            var depth = 0
            var i = first + written.count
            scan: while i < text.count {
                switch text[i] {
                case "\"", "'":
                    let quote = text[i]
                    i += 1
                    while i < text.count, text[i] != quote { i += text[i] == "\\" && quote == "\"" ? 2 : 1 }
                case "{", "[": depth += 1
                case "}", "]":
                    depth -= 1
                    if depth < 0 { break scan }
                case "," where depth == 0:
                    var j = i + 1
                    while j < text.count, text[j] == " " || text[j] == "\n" { j += 1 }
                    if let form = keyForm(at: j) { found = (j, form); break scan }
                case "#" where i > 0 && (text[i - 1] == " " || text[i - 1] == "\n"):
                    while i < text.count, text[i] != "\n" { i += 1 }
                default: break
                }
                i += 1
            }
        }
        guard let found else { return false }
        text.replaceSubrange(found.at..<found.at + found.form.count, with: placeholder.unicodeScalars)
        return true
    }
}
