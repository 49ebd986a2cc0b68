import CLDNS
import DNSWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One master file (and, recursively, its `$INCLUDE`s) read entry by entry through
/// ldns. Every ldns object is freed in the function that made it; only Swift values
/// leave this type.
struct MasterFileReader {
    /// TTL defaults in force: `$TTL` when one was seen, else the last explicit TTL
    /// (RFC 1035 §5.1), else the caller's default.
    struct TTLState {
        var directive: UInt32?
        var lastExplicit: UInt32?
        func current(_ fallback: UInt32) -> UInt32 { directive ?? lastExplicit ?? fallback }
    }

    let defaultTTL: UInt32
    /// `.ldns` reads every entry through ldns (the reference the fast reader is compared to).
    let reader: ZoneFileLoader.Reader
    /// Real path of the directory every `$INCLUDE` must resolve inside.
    let includeRoot: String
    let limits: ZoneFileLoader.Limits
    private(set) var records: [ResourceRecord] = []
    private(set) var lines: [Int] = []
    private(set) var files: [String] = []
    /// Records read through ldns's record parser (the rest were read by `FastRecordParser`).
    private(set) var ldnsRecords = 0
    /// Canonical paths of the files being read, outermost first (include-loop guard).
    private var chain: [String] = []
    /// The same files as they are shown in messages.
    private var shownChain: [String] = []
    /// Octets read so far for this zone, every file together (`limits.maxZoneBytes`).
    private var zoneBytes = 0
    /// With `collectErrors`, the errors of the entries skipped so far (at most `maxErrors`); nil: the first error throws.
    private(set) var errors: [ZoneFileError]?

    init(defaultTTL: UInt32, includeRoot: String, limits: ZoneFileLoader.Limits, reader: ZoneFileLoader.Reader = .fast) {
        self.defaultTTL = defaultTTL
        self.reader = reader
        self.includeRoot = includeRoot
        self.limits = limits
    }

    /// Most errors `collectErrors` keeps: reading stops after the last one (`cairn check-zone`).
    static let maxErrors = 100

    /// Keeps reading after an entry that does not parse, skipping it, as nsd-checkzone does (`cairn check-zone`).
    mutating func collectErrors() { errors = [] }

    /// Throws `error` when not collecting; else keeps it, and stops the reading once `maxErrors` were kept.
    private mutating func report(_ error: ZoneFileError) throws(ZoneFileError) {
        guard var kept = errors, kept.count < Self.maxErrors else { throw error }
        kept.append(error)
        errors = kept
        if kept.count == Self.maxErrors {
            throw ZoneFileError(file: error.file, line: error.line, message: "stopped after \(Self.maxErrors) errors")
        }
    }

    /// Whether the zone file itself resolves inside `includeRoot` (a symlink in the zone
    /// directory may point elsewhere: the operator's choice, but not a file to quote).
    private var zoneFileInsideRoot = false

    /// Errors quote the text of an entry only in the zone file itself, when it is inside
    /// the zone directory; in a file reached through `$INCLUDE` they give file, line and
    /// reason, and nothing of its content (the errors reach `GET /v1/zones`, which a `read`
    /// token may call).
    private var quotesEntries: Bool { chain.count <= 1 && zoneFileInsideRoot }

    /// Reads `path` with `origin` as its initial `$ORIGIN`. `includedAt` is the
    /// `$INCLUDE` line that named it (where open errors are reported).
    mutating func read(path: String, origin: DomainName?, ttl: TTLState,
                       includedAt site: (file: String, line: Int)?) throws(ZoneFileError) {
        let content = try load(path, includedAt: site)
        defer { content.deallocate() }
        let bytes = UnsafeBufferPointer(content)

        chain.append(Self.canonical(path))
        shownChain.append(path)
        defer { chain.removeLast(); shownChain.removeLast() }
        guard !bytes.isEmpty else { return }
        // ldns tokenizes the bytes read and checked, not the file again (which may have
        // changed since, or grown past the limit).
        guard let fp = cairn_fmemopen(content.baseAddress, content.count) else {
            throw ZoneFileError(file: path, line: 0, message: "out of memory")
        }
        defer { fclose(fp) }

        var scope = Scope(origin: origin, ttl: ttl)
        defer { scope.free() }

        var token: UnsafeMutablePointer<CChar>? = nil
        var tokenLimit = 0
        defer { free(token) }
        var ldnsLine: Int32 = 0
        guard let wire = ldns_buffer_new(1024) else {
            throw ZoneFileError(file: path, line: 0, message: "out of memory")
        }
        defer { ldns_buffer_free(wire) }
        // Built on the first entry ldns tokenizes (EntryScan's line numbers).
        var lineIndex: LineIndex?

        var tokenizer = EntryTokenizer()
        var parser = FastRecordParser()
        var pos = 0
        var line = 1  // the line of `pos`
        while pos < bytes.count {
            if reader == .fast, let cut = tokenizer.cut(bytes, from: pos) {
                let at = (file: path, line: line + cut.newlinesBefore)
                pos = cut.end
                line += cut.newlines
                let length = cut.hasToken ? tokenizer.trimmedEnd : 0
                guard length > 0 else { continue }
                if tokenizer.token[0] == UInt8(ascii: "$") {
                    do { try directive(Array(tokenizer.token[..<length]), at: at, scope: &scope) } catch { try report(error) }
                    parser.originChanged()
                    continue
                }
                let parsed = tokenizer.token.withUnsafeBufferPointer {
                    parser.parse(UnsafeBufferPointer(rebasing: $0[..<length]), origin: scope.origin,
                                 previous: scope.previousOwner, defaultTTL: scope.ttl.current(defaultTTL))
                }
                if let parsed {
                    if parsed.explicitTTL { scope.ttl.lastExplicit = parsed.record.ttl }
                    if !FastRecordParser.isSpace(tokenizer.token[0]) { scope.setPreviousOwner(parsed.record.name) }
                    records.append(parsed.record)
                    lines.append(at.line)
                    files.append(at.file)
                } else {
                    do { try record(Array(tokenizer.token[..<length]), at: at, scope: &scope, wire: wire) } catch { try report(error) }
                }
                continue
            }

            // ldns's tokenizer, for this one entry.
            fseek(fp, pos, SEEK_SET)
            let start = pos
            let status = ldns_fget_token_l_st(fp, &token, &tokenLimit, false, "\u{0C}\n\r\u{0B}", &ldnsLine)
            let end = Int(ftell(fp))
            if lineIndex == nil { lineIndex = LineIndex(bytes) }
            let scan = EntryScan(bytes, from: start, to: end, lines: lineIndex!)
            let entry = token.map { Self.trimmed(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) } ?? []
            if let problem = scan.problem {
                try report(ZoneFileError(file: path, line: problem.line, message: problem.message))
            } else if status != LDNS_STATUS_OK && status != LDNS_STATUS_SYNTAX_EMPTY {
                try report(ZoneFileError(file: path, line: scan.firstLine, message: Self.ldnsMessage(status)))
            } else if !entry.isEmpty && status == LDNS_STATUS_OK {
                let at = (file: path, line: scan.firstLine)
                do {
                    if entry[0] == UInt8(ascii: "$") {
                        try directive(entry, at: at, scope: &scope)
                        parser.originChanged()
                    } else {
                        try record(entry, at: at, scope: &scope, wire: wire)
                    }
                } catch {
                    try report(error)
                }
            }
            if feof(fp) != 0 || end <= start { break }
            pos = end
            line = lineIndex!.line(at: end)
        }
    }

    // MARK: - Opening and reading a file

    /// The whole content of `path`, once it passed every check: for an `$INCLUDE`d file,
    /// its real path inside `includeRoot` (checked again on the opened descriptor); for
    /// every file, a regular file (not a device, FIFO or directory: checked before it is
    /// opened) of at most `limits.maxFileBytes`, within what is left of
    /// `limits.maxZoneBytes`. A refused file is never read. The caller deallocates.
    private mutating func load(_ path: String, includedAt site: (file: String, line: Int)?) throws(ZoneFileError) -> UnsafeMutableBufferPointer<UInt8> {
        let what = site == nil ? "zone file" : "$INCLUDE file \(path)"
        func fail(_ m: String) -> ZoneFileError {
            if let site { return ZoneFileError(file: site.file, line: site.line, message: m) }
            return ZoneFileError(file: path, line: 0, message: m)
        }
        func cannotOpen(_ err: Int32) -> ZoneFileError { fail("cannot open \(what): \(String(cString: strerror(err)))") }

        var target = path
        if site == nil {
            zoneFileInsideRoot = Self.realPath(path).map { Self.isInside($0, includeRoot) } ?? false
        } else {
            guard let real = Self.realPath(path) else { throw cannotOpen(errno) }
            guard Self.isInside(real, includeRoot) else {
                throw fail("\(what) is outside the zone directory \(includeRoot): refused")
            }
            target = real
        }
        var st = stat()
        guard stat(target, &st) == 0 else { throw cannotOpen(errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("\(what) is not a regular file: refused") }
        let fileLimit = min(limits.maxFileBytes, limits.maxZoneBytes - zoneBytes)
        func tooLarge() -> ZoneFileError {
            if fileLimit < limits.maxFileBytes {
                return fail("\(what) makes the zone's files together more than \(limits.maxZoneBytes) octets (the limit for one zone): refused")
            }
            return fail("\(what) is larger than \(limits.maxFileBytes) octets (the limit for one file): refused")
        }

        if Int(st.st_size) > fileLimit { throw tooLarge() }

        // O_NOFOLLOW: the last component was resolved above; O_NONBLOCK: a file swapped for
        // a FIFO meanwhile does not block the open (fstat below refuses it).
        let fd = open(target, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (site != nil ? O_NOFOLLOW : 0))
        guard fd >= 0 else { throw cannotOpen(errno) }
        defer { close(fd) }
        guard fstat(fd, &st) == 0 else { throw cannotOpen(errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("\(what) is not a regular file: refused") }
        if site != nil, let opened = Self.realPath("/proc/self/fd/\(fd)"), !Self.isInside(opened, includeRoot) {
            throw fail("\(what) is outside the zone directory \(includeRoot): refused")
        }

        // Read at most one octet past the limit (the file may have grown since fstat).
        var capacity = min(max(Int(st.st_size), 4096), fileLimit) + 1
        var buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        var count = 0
        while count <= fileLimit {
            if count == capacity {
                let bigger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: min(capacity * 2, fileLimit + 1))
                _ = bigger.initialize(fromContentsOf: buffer[0..<count])
                buffer.deallocate()
                buffer = bigger
                capacity = bigger.count
            }
            let n = Glibc.read(fd, buffer.baseAddress! + count, capacity - count)
            if n > 0 { count += n; continue }
            if n == 0 { break }
            let err = errno
            if err == EINTR { continue }
            buffer.deallocate()
            throw fail("cannot read \(what): \(String(cString: strerror(err)))")
        }
        if count > fileLimit {
            buffer.deallocate()
            throw tooLarge()
        }
        zoneBytes += count
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Whether the real path `path` is `root` or below it.
    static func isInside(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    // MARK: - Directives

    private mutating func directive(_ entry: [UInt8], at: (file: String, line: Int), scope: inout Scope) throws(ZoneFileError) {
        let words = Self.words(String(decoding: entry, as: UTF8.self))
        let keyword = words[0].uppercased()
        func fail(_ m: String) -> ZoneFileError { ZoneFileError(file: at.file, line: at.line, message: m) }
        let quotes = quotesEntries
        /// ` TEXT` in the zone file itself, nothing in an included file.
        func q(_ text: String) -> String { quotes ? " " + text : "" }
        switch keyword {
        case "$ORIGIN":
            guard words.count == 2 else { throw fail("$ORIGIN takes exactly one domain name") }
            do {
                scope.setOrigin(try DomainName(words[1], origin: scope.origin))
            } catch {
                throw fail("bad domain name in $ORIGIN\(q("\(words[1]): \(error)"))")
            }
        case "$TTL":
            guard words.count == 2 else { throw fail("$TTL takes exactly one TTL") }
            guard let v = Self.ttlValue(words[1]) else { throw fail("bad $TTL value\(q(words[1]))") }
            scope.ttl.directive = v
        case "$INCLUDE":
            guard words.count == 2 || words.count == 3 else {
                throw fail("$INCLUDE takes a file name and an optional origin")
            }
            let target = Self.resolve(words[1], relativeTo: at.file)
            var includeOrigin = scope.origin
            if words.count == 3 {
                do { includeOrigin = try DomainName(words[2], origin: scope.origin) } catch {
                    throw fail("bad origin in $INCLUDE\(q("\(words[2]): \(error)"))")
                }
            }
            guard chain.count <= ZoneFileLoader.maxIncludeDepth else {
                throw fail("$INCLUDE nested deeper than \(ZoneFileLoader.maxIncludeDepth) levels")
            }
            if let loopAt = chain.firstIndex(of: Self.canonical(target)) {
                throw fail("$INCLUDE loop: " + (shownChain[loopAt...] + [target]).joined(separator: " -> "))
            }
            try read(path: target, origin: includeOrigin, ttl: scope.ttl, includedAt: at)
        default:
            throw fail("unknown directive\(q(words[0]))")
        }
    }

    // MARK: - Records

    private mutating func record(_ original: [UInt8], at: (file: String, line: Int), scope: inout Scope,
                                 wire: UnsafeMutablePointer<ldns_buffer>) throws(ZoneFileError) {
        func fail(_ m: String) -> ZoneFileError { ZoneFileError(file: at.file, line: at.line, message: m) }
        ldnsRecords += 1
        var entry = original
        var head = RecordHead(entry)
        // RFC 1035 allows CLASS before TTL; ldns reads only TTL CLASS: swap them.
        if let c = head.classToken, let t = head.ttlToken, c.lowerBound < t.lowerBound {
            entry = Array(entry[..<c.lowerBound]) + Array(entry[t]) + [0x20] + Array(entry[c])
                + Array(entry[t.upperBound...])
            head = RecordHead(entry)
        }
        // The entry, quoted, in the zone file itself; nothing of it in an included file.
        let shown = quotesEntries ? Self.shown(entry) : nil
        func q(_ prefix: String) -> String { shown.map { prefix + $0 } ?? "" }
        guard let typeToken = head.typeToken else { throw fail("missing type\(q(" in "))") }
        let typeName = Array(entry[typeToken]) + [0]
        let knownType = typeName.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { ldns_get_rr_type_by_name($0.baseAddress!) }
        }
        guard knownType.rawValue != 0 else {
            throw fail("unknown RR type\(shown == nil ? "" : " \(String(decoding: entry[typeToken], as: UTF8.self))")\(q(" in "))")
        }
        if let t = head.ttlToken, entry[t].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
           UInt64(String(decoding: entry[t], as: UTF8.self)).map({ $0 > UInt64(UInt32.max) }) ?? true {
            throw fail("TTL\(shown == nil ? "" : " \(String(decoding: entry[t], as: UTF8.self))") does not fit in 32 bits\(q(" in "))")
        }

        let ttlDefault = scope.ttl.current(defaultTTL)
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let originRDF = scope.originRDF
        var prev = scope.ldnsPrevious()
        let status = (entry + [0]).withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) {
                ldns_rr_new_frm_str(&rr, $0.baseAddress!, ttlDefault, originRDF, &prev)
            }
        }
        scope.setLdnsPrevious(prev)
        defer { if let rr { ldns_rr_free(rr) } }
        guard status == LDNS_STATUS_OK, let rr else {
            let type = String(decoding: entry[typeToken], as: UTF8.self).uppercased()
            throw fail("cannot parse \(type) record\(q(" ")): \(Self.ldnsMessage(status))")
        }

        ldns_buffer_clear(wire)
        let ws = ldns_rr2buffer_wire(wire, rr, Int32(LDNS_SECTION_ANSWER.rawValue))
        guard ws == LDNS_STATUS_OK else { throw fail("cannot encode\(q(" ")): \(Self.ldnsMessage(ws))") }
        let bytes = Array(UnsafeBufferPointer(start: ldns_buffer_begin(wire), count: ldns_buffer_position(wire)))
        guard var decoded = Self.decode(bytes) else { throw fail("ldns produced a malformed record\(q(" for "))") }
        guard !decoded.type.isMetaType else {
            throw fail("\(decoded.type) is a meta type and cannot appear in a zone\(q(": "))")
        }
        // ldns turns a missing TTL into the default it was given, but replaces 0 by 3600:
        // apply the default ourselves.
        if head.ttlToken == nil {
            decoded.ttl = ttlDefault
        } else {
            scope.ttl.lastExplicit = decoded.ttl
        }
        records.append(decoded)
        lines.append(at.line)
        files.append(at.file)
    }

    /// Owner, TTL, CLASS and TYPE of an entry as ldns splits them (space or tab,
    /// backslash escapes); an entry that starts with blank has no owner token.
    struct RecordHead {
        var ttlToken: Range<Int>?
        var classToken: Range<Int>?
        var typeToken: Range<Int>?

        init(_ e: [UInt8]) {
            var tokens: [Range<Int>] = []
            var i = 0
            // Owner: empty when the entry starts with blank.
            while i < e.count && e[i] != 0x20 && e[i] != 0x09 { i += e[i] == 0x5C ? 2 : 1 }
            i = min(i, e.count)
            while tokens.count < 3 {
                while i < e.count && (e[i] == 0x20 || e[i] == 0x09) { i += 1 }
                guard i < e.count else { break }
                let s = i
                while i < e.count && e[i] != 0x20 && e[i] != 0x09 { i += e[i] == 0x5C ? 2 : 1 }
                i = min(i, e.count)
                tokens.append(s..<i)
            }
            func isClass(_ r: Range<Int>) -> Bool {
                let t = Array(e[r]) + [0]
                return t.withUnsafeBufferPointer { p in
                    p.withMemoryRebound(to: CChar.self) { ldns_get_rr_class_by_name($0.baseAddress!).rawValue != 0 }
                }
            }
            func isTTL(_ r: Range<Int>) -> Bool { e[r.lowerBound] >= 0x30 && e[r.lowerBound] <= 0x39 }
            var k = 0
            if k < tokens.count, isTTL(tokens[k]) {
                ttlToken = tokens[k]; k += 1
                if k < tokens.count, isClass(tokens[k]) { classToken = tokens[k]; k += 1 }
            } else if k < tokens.count, isClass(tokens[k]) {
                classToken = tokens[k]; k += 1
                if k < tokens.count, isTTL(tokens[k]) { ttlToken = tokens[k]; k += 1 }
            }
            if k < tokens.count { typeToken = tokens[k] }
        }
    }

    /// Owner, type, class, TTL and RDATA out of one uncompressed wire-format record.
    static func decode(_ w: [UInt8]) -> ResourceRecord? {
        guard let (name, i) = ResourceRecord.readUncompressedName(w, at: 0), w.count >= i + 10 else { return nil }
        func u16(_ o: Int) -> UInt16 { UInt16(w[o]) << 8 | UInt16(w[o + 1]) }
        let type = u16(i), rclass = u16(i + 2)
        let ttl = UInt32(u16(i + 4)) << 16 | UInt32(u16(i + 6))
        let rdlength = Int(u16(i + 8))
        guard w.count == i + 10 + rdlength else { return nil }
        return ResourceRecord(name: name, type: RecordType(type), rclass: rclass, ttl: ttl, rdata: Array(w[(i + 10)...]))
    }

    // MARK: - Per-file state

    /// `$ORIGIN` (as a Swift value and as the ldns name handed to the parser) and the
    /// previous owner for entries that start with blank: ldns's (which ldns reads and
    /// replaces) and the same as a Swift value (which `FastRecordParser` reads, and which
    /// the records it reads replace; ldns's is brought up to date before ldns reads it).
    struct Scope {
        private(set) var origin: DomainName?
        private(set) var originRDF: UnsafeMutablePointer<ldns_rdf>?
        private var prev: UnsafeMutablePointer<ldns_rdf>? = nil
        private(set) var previousOwner: DomainName?
        /// `previousOwner` was set since ldns last saw `prev`.
        private var prevStale = false
        var ttl: TTLState

        init(origin: DomainName?, ttl: TTLState) {
            self.ttl = ttl
            if let origin { setOrigin(origin) }
        }

        mutating func setOrigin(_ name: DomainName) {
            if let originRDF { ldns_rdf_deep_free(originRDF) }
            origin = name
            originRDF = name.wire.withUnsafeBufferPointer {
                ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress)
            }
        }

        /// The owner of a record read without ldns.
        mutating func setPreviousOwner(_ name: DomainName) {
            previousOwner = name
            prevStale = true
        }

        /// ldns's previous owner, up to date, to hand to `ldns_rr_new_frm_str`.
        mutating func ldnsPrevious() -> UnsafeMutablePointer<ldns_rdf>? {
            if prevStale, let previousOwner {
                if let prev { ldns_rdf_deep_free(prev) }
                prev = previousOwner.wire.withUnsafeBufferPointer {
                    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress)
                }
                prevStale = false
            }
            return prev
        }

        /// What `ldns_rr_new_frm_str` left as the previous owner (it freed the one it got).
        mutating func setLdnsPrevious(_ p: UnsafeMutablePointer<ldns_rdf>?) {
            prev = p
            prevStale = false
            previousOwner = p.flatMap { rdf in
                guard let data = ldns_rdf_data(rdf) else { return nil }
                return try? DomainName(wire: Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf))))
            }
        }

        mutating func free() {
            if let originRDF { ldns_rdf_deep_free(originRDF) }
            if let prev { ldns_rdf_deep_free(prev) }
            originRDF = nil
            prev = nil
        }
    }

    // MARK: - Helpers

    static func canonical(_ path: String) -> String { realPath(path) ?? path }

    /// `name` relative to the directory of `file` (RFC 1035 leaves it open; BIND, NSD and
    /// Knot resolve against the including file or the working directory: we use the file).
    static func resolve(_ name: String, relativeTo file: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = file.lastIndex(of: "/") else { return name }
        return String(file[...slash]) + name
    }

    /// A TTL as `$TTL` accepts it: seconds or ldns's `1h30m` units, within 32 bits.
    static func ttlValue(_ s: String) -> UInt32? {
        guard let f = s.utf8.first, f >= 0x30 && f <= 0x39 else { return nil }
        if s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return UInt32(s) }
        var end: UnsafePointer<CChar>? = nil
        return s.withCString { p in
            let v = ldns_str2period(p, &end)
            return end.map { $0.pointee == 0 } == true ? v : nil
        }
    }

    /// Whitespace-separated words, double quotes grouping (for `$INCLUDE "a b.zone"`).
    static func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var quoted = false, has = false
        for ch in s {
            if ch == "\"" { quoted.toggle(); has = true; continue }
            if !quoted && (ch == " " || ch == "\t") {
                if has || !cur.isEmpty { out.append(cur) }
                cur = ""; has = false
                continue
            }
            cur.append(ch)
        }
        if has || !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The entry without trailing blanks (an escaped blank is data); leading blanks
    /// stay: they mean "the owner of the previous record". Empty when all blank.
    static func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard b.contains(where: { !EntryTokenizer.isBlank($0) }) else { return [] }
        var hi = b.count
        while hi > 0 && EntryTokenizer.isBlank(b[hi - 1]) && !(hi >= 2 && b[hi - 2] == 0x5C) { hi -= 1 }
        return Array(b[0..<hi])
    }

    static func shown(_ entry: [UInt8]) -> String {
        var s = String(decoding: entry, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        while s.contains("  ") { s = s.replacingOccurrences(of: "  ", with: " ") }
        if s.count > 80 { s = String(s.prefix(77)) + "..." }
        return "\"\(s)\""
    }

    /// ldns's text for a status, lower-cased to read as the end of our sentence
    /// ("syntax error, could not parse the RR's rdata").
    static func ldnsMessage(_ status: ldns_status) -> String {
        guard let p = ldns_get_errorstr_by_id(status) else { return "ldns error \(status.rawValue)" }
        let text = String(cString: p)
        guard let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase == true else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
