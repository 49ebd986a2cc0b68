import DNSWire

/// What the server does with a signed query (RFC 8945 §5.2), decided by `TSIGKeyring.check`.
public enum TSIGCheck: Sendable, Equatable {
    /// The MAC verifies and the time is within the fudge: answer normally, signed with this key.
    case valid(TSIGKey)
    /// The MAC is longer than the hash, or shorter than max(10, half the hash) octets (§5.2.2.1): FORMERR.
    case formErr
    /// NOTAUTH with an unsigned TSIG carrying this error (§5.3.2): BADKEY (unknown key or algorithm),
    /// BADSIG (wrong MAC), BADTRUNC (a correct MAC truncated below the local minimum, the full length).
    case unsigned(UInt16)
    /// The MAC verifies but the time is outside Time Signed ± Fudge (§5.2.3): NOTAUTH with a TSIG
    /// carrying BADTIME, signed with this key, the server's time in Other Data.
    case badTime(TSIGKey)
}

extension TSIGKeyring {
    /// Checks the TSIG `t` of `query` (the whole datagram or TCP message) against the keys, in RFC
    /// 8945 §5.2's order: key (§5.2.1), MAC size (§5.2.2.1), MAC (§5.2.2), truncation, time (§5.2.3).
    public func check(_ t: TSIGInfo, query: UnsafeRawBufferPointer, now: UInt64) -> TSIGCheck {
        guard let key = keys[t.keyName.key], key.algorithm.wireName == t.algorithm.key else {
            return .unsigned(TSIGError.badKey)
        }
        let full = key.algorithm.macSize
        // §5.2.2.1 (as BIND): a MAC longer than the hash or shorter than max(10, half of it) is malformed;
        // an empty one is simply not a signature (BADSIG below).
        if !t.mac.isEmpty && (t.mac.count > full || t.mac.count < max(10, (full + 1) / 2)) { return .formErr }
        let expected = TSIGDigest.request(t, query: query, key: key)
        guard !t.mac.isEmpty, TSIGDigest.equal(t.mac, expected.prefix(t.mac.count)) else {
            return .unsigned(TSIGError.badSig)
        }
        // Cairn's local minimum is the whole MAC (NSD accepts no truncation either).
        if t.mac.count < full { return .unsigned(TSIGError.badTrunc) }
        if now > t.timeSigned + UInt64(t.fudge) || t.timeSigned > now + UInt64(t.fudge) { return .badTime(key) }
        return .valid(key)
    }
}

/// The MAC computations of RFC 8945 §4.3.
public enum TSIGDigest {
    /// The MAC a request's TSIG must carry: the message up to its TSIG, with the Original ID in place of
    /// the ID and ARCOUNT one less (§4.3.1), then the TSIG variables (§4.3.3).
    public static func request(_ t: TSIGInfo, query: UnsafeRawBufferPointer, key: TSIGKey) -> [UInt8] {
        key.algorithm.mac(secret: key.secret) { update in
            guard t.recordOffset >= 12, t.recordOffset <= query.count else { return }
            var header = Array(query[0..<12])
            header[0] = UInt8(t.originalID >> 8); header[1] = UInt8(t.originalID & 0xff)
            let ar = (UInt16(header[10]) << 8 | UInt16(header[11])) &- 1
            header[10] = UInt8(ar >> 8); header[11] = UInt8(ar & 0xff)
            header.withUnsafeBytes(update)
            update(UnsafeRawBufferPointer(rebasing: query[12..<t.recordOffset]))
            variables(keyName: t.keyName.key, algorithm: t.algorithm.key, timeSigned: t.timeSigned, fudge: t.fudge,
                      error: t.error, otherData: t.otherData, update)
        }
    }

    /// The MAC of a response (§4.3.2): the request's MAC with its length, the response as it is without
    /// its TSIG (its ARCOUNT not counting it), then the response's TSIG variables.
    public static func response(_ message: UnsafeRawBufferPointer, requestMAC: [UInt8], key: TSIGKey, keyName: [UInt8],
                                timeSigned: UInt64, fudge: UInt16, error: UInt16, otherData: [UInt8]) -> [UInt8] {
        key.algorithm.mac(secret: key.secret) { update in
            [UInt8(requestMAC.count >> 8), UInt8(requestMAC.count & 0xff)].withUnsafeBytes(update)
            requestMAC.withUnsafeBytes(update)
            update(message)
            variables(keyName: keyName, algorithm: key.algorithm.wireName, timeSigned: timeSigned, fudge: fudge,
                      error: error, otherData: otherData, update)
        }
    }

    /// §4.3.3: key name and algorithm (canonical: lower case, uncompressed), class ANY, TTL 0, Time
    /// Signed, Fudge, Error, Other Len, Other Data.
    static func variables(keyName: [UInt8], algorithm: [UInt8], timeSigned: UInt64, fudge: UInt16, error: UInt16,
                          otherData: [UInt8], _ update: (UnsafeRawBufferPointer) -> Void) {
        keyName.withUnsafeBytes(update)
        ([0, 255, 0, 0, 0, 0] as [UInt8]).withUnsafeBytes(update)   // class ANY, TTL 0
        algorithm.withUnsafeBytes(update)
        var v = time48(timeSigned)
        v += [UInt8(fudge >> 8), UInt8(fudge & 0xff), UInt8(error >> 8), UInt8(error & 0xff),
              UInt8(otherData.count >> 8), UInt8(otherData.count & 0xff)]
        v += otherData
        v.withUnsafeBytes(update)
    }

    /// A time as TSIG's 48-bit field.
    public static func time48(_ t: UInt64) -> [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: t >> (8 * (5 - $0))) }
    }

    /// Compares in time that depends only on the lengths.
    static func equal(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}
