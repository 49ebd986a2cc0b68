import Foundation
import Crypto

/// SHA-256 (lowercase hex) of `text`'s UTF-8: a drill report's content hash, the stored form of a token secret.
public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Array(text.utf8)).map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined()
}

/// The report as evidence: sealed with the Cairn version and a content hash when the drill ends, and as a
/// self-contained HTML page an auditor can archive.
extension DrillReport {
    /// The text the content hash covers: the Markdown report above its hash line (`head -n -1 report.md`).
    var hashedMarkdown: String { markdownBody + "\n" }

    /// Records the version and the content hash: call last, when nothing else changes in the report.
    public mutating func seal(version: String) {
        cairnVersion = version
        contentHash = sha256Hex(hashedMarkdown)
    }

    /// Whether the stored hash still matches the report (nil when it was never sealed).
    public var hashMatches: Bool? { contentHash.map { $0 == sha256Hex(hashedMarkdown) } }

    /// One HTML page, styles inline and nothing fetched: the Markdown report's content, for an archive.
    public var html: String {
        var out = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Failover drill \(Self.escape(id))</title>
        <style>body{font:15px/1.45 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#111}
        table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
        th{background:#eee}code{background:#f3f3f3;padding:0 .2em}h1,h2,h3{margin-top:1.2em}.hash{font-family:monospace;word-break:break-all}</style>
        </head><body>

        """
        var inTable = false, inList = false, header = false
        func close() {
            if inTable { out += "</table>\n"; inTable = false }
            if inList { out += "</ul>\n"; inList = false }
        }
        for raw in markdownBody.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("|") {
                if line.hasPrefix("|---") { continue }
                if !inTable { close(); out += "<table>\n"; inTable = true; header = true }
                let cells = line.dropFirst().dropLast().components(separatedBy: " | ").map { $0.trimmingCharacters(in: .whitespaces) }
                let tag = header ? "th" : "td"
                out += "<tr>" + cells.map { "<\(tag)>\(Self.inline($0))</\(tag)>" }.joined() + "</tr>\n"
                header = false
            } else if line.hasPrefix("- ") {
                if !inList { close(); out += "<ul>\n"; inList = true }
                out += "<li>\(Self.inline(String(line.dropFirst(2))))</li>\n"
            } else if line.hasPrefix("#") {
                close()
                let level = line.prefix { $0 == "#" }.count
                out += "<h\(level)>\(Self.inline(line.dropFirst(level).trimmingCharacters(in: .whitespaces)))</h\(level)>\n"
            } else if line.isEmpty {
                close()
            } else {
                close()
                out += "<p>\(Self.inline(line))</p>\n"
            }
        }
        close()
        if let h = contentHash {
            out += "<p>Content hash (SHA-256 of the Markdown report above its last line, <code>cairn drill show \(Self.escape(id)) --markdown</code>): "
            out += "<span class=\"hash\">\(h)</span></p>\n"
        }
        return out + "</body></html>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Escapes, then turns `**bold**` and `` `code` `` into tags.
    static func inline(_ s: String) -> String {
        var out = ""
        var bold = false, code = false
        var chars = Array(escape(s))[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "`" {
                out += code ? "</code>" : "<code>"; code.toggle()
            } else if c == "*" && chars.first == "*" && !code {
                chars = chars.dropFirst()
                out += bold ? "</strong>" : "<strong>"; bold.toggle()
            } else {
                out.append(c)
            }
        }
        if code { out += "</code>" }
        if bold { out += "</strong>" }
        return out
    }
}
