#!/usr/bin/python3
"""TSIG (RFC 8945) against a running server, checked with dnspython as the independent implementation.

    tsig_check.py CAIRN_PORT [NSD_PORT]

The server must serve Tests/conformance/zones and know these keys (secrets base64 of the octets
0, 1, 2, ...): tsig-sha256.test. hmac-sha256 (32 octets), tsig-sha1.test. hmac-sha1 (20),
tsig-sha512.test. hmac-sha512 (64). Each case sends one query (signed by dnspython's use_tsig, or
crafted here with Python's hmac for times and MACs dnspython will not make) and checks the outcome
against RFC 8945 §5.2/§5.3; a signed answer must validate in dnspython (dns.message.from_wire with
the keyring and the request MAC) or, for BADTIME, against a MAC computed here. With NSD_PORT the same
bytes go to NSD (configured with the same keys) and the outcomes are compared: they must be equal
but for the documented differences (docs/dns.md), which are checked to be exactly those.
Prints PASS/DIFF per case and "N passed, M failed"; exits 1 on any failure. Loopback only.
"""
import base64, hashlib, hmac, socket, struct, sys, time
import dns.message, dns.name, dns.rcode, dns.rdatatype, dns.tsig

HOST = "127.0.0.1"
KEYS = {
    "tsig-sha256.test.": (dns.tsig.HMAC_SHA256, bytes(range(32)), hashlib.sha256),
    "tsig-sha1.test.": (dns.tsig.HMAC_SHA1, bytes(range(20)), hashlib.sha1),
    "tsig-sha512.test.": (dns.tsig.HMAC_SHA512, bytes(range(64)), hashlib.sha512),
}
KEYRING = {dns.name.from_text(n): dns.tsig.Key(n, base64.b64encode(s).decode(), a) for n, (a, s, _) in KEYS.items()}
BADSIG, BADKEY, BADTIME, BADTRUNC = 16, 17, 18, 22


def name_wire(text):
    return dns.name.from_text(text).canonicalize().to_wire()


def exchange(port, wire, tcp=False):
    if tcp:
        with socket.create_connection((HOST, port), timeout=3) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            n = struct.unpack("!H", recv_exact(s, 2))[0]
            return recv_exact(s, n)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, (HOST, port))
        return s.recv(65535)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def skip_name(w, p):
    while True:
        l = w[p]
        if l == 0:
            return p + 1
        if l & 0xC0 == 0xC0:
            return p + 2
        p += 1 + l


def last_tsig(w):
    """(start, fields) of the response's TSIG when it is the last record, else (None, None)."""
    qd, an, ns, ar = struct.unpack("!4H", w[4:12])
    p = 12
    for _ in range(qd):
        p = skip_name(w, p) + 4
    start = None
    for i in range(an + ns + ar):
        start = p
        p = skip_name(w, p)
        rtype, _, _, rdlen = struct.unpack("!HHIH", w[p:p + 10])
        rd = p + 10
        p = rd + rdlen
        if i == an + ns + ar - 1 and rtype == 250:
            alg_end = skip_name(w, rd)
            hi, lo, fudge, macsize = struct.unpack("!HIHH", w[alg_end:alg_end + 10])
            mac = w[alg_end + 10:alg_end + 10 + macsize]
            q = alg_end + 10 + macsize
            orig, err, olen = struct.unpack("!HHH", w[q:q + 6])
            return start, dict(time=(hi << 32) | lo, fudge=fudge, mac=mac, orig=orig, error=err,
                               other=w[q + 6:q + 6 + olen], owner=w[start:skip_name(w, start)], alg=w[rd:alg_end])
    return None, None


def variables(key, alg, t, fudge, error, other):
    return (name_wire(key) + struct.pack("!HI", 255, 0) + name_wire(alg) + struct.pack("!HIHHH", t >> 32, t & 0xFFFFFFFF, fudge, error,
                                                                                        len(other)) + other)


def sign_query(query_wire, key, when, fudge=300, mac_len=None, flip=False, alg=None, secret=None):
    """`query_wire` with a TSIG appended, computed here (RFC 8945 §4.3.1): a chosen time, a MAC cut to
    mac_len octets or with a flipped bit, another algorithm name or secret than the key's."""
    a, s, h = KEYS.get(key, (dns.tsig.HMAC_SHA256, bytes(32), hashlib.sha256))
    alg = alg or str(a)
    secret = s if secret is None else secret
    qid = query_wire[:2]
    mac = hmac.new(secret, query_wire + variables(key, alg, when, fudge, 0, b""), h).digest()
    if flip:
        mac = bytes([mac[0] ^ 1]) + mac[1:]
    if mac_len is not None:
        mac = mac[:mac_len] if mac_len <= len(mac) else mac + bytes(mac_len - len(mac))
    rdata = name_wire(alg) + struct.pack("!HIHH", when >> 32, when & 0xFFFFFFFF, fudge, len(mac)) + mac + qid + struct.pack("!HH", 0, 0)
    rr = name_wire(key) + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    ar = struct.unpack("!H", query_wire[10:12])[0] + 1
    return query_wire[:10] + struct.pack("!H", ar) + query_wire[12:] + rr, mac


def outcome(resp):
    """What a response says: RCODE, TC, whether a TSIG is last, its error, whether it carries a MAC."""
    rcode = (resp[3] & 0xF)
    _, t = last_tsig(resp)
    return dict(rcode=dns.rcode.to_text(rcode), tc=bool(resp[2] & 0x02), tsig=t is not None,
                error=(t["error"] if t else None), signed=bool(t and t["mac"]))


def verify_by_hand(resp, key, request_mac):
    """The response's MAC recomputed here (RFC 8945 §4.3.2): for BADTIME, which dnspython reports
    as an error without checking the MAC."""
    start, t = last_tsig(resp)
    a, s, h = KEYS[key]
    ar = struct.unpack("!H", resp[10:12])[0] - 1
    body = resp[:10] + struct.pack("!H", ar) + resp[12:start]
    data = struct.pack("!H", len(request_mac)) + request_mac + body + variables(key, str(a), t["time"], t["fudge"], t["error"],
                                                                                 t["other"])
    return hmac.compare_digest(hmac.new(s, data, h).digest(), t["mac"])


def dnspython_query(qname, qtype, key, edns=False, qclass="IN"):
    q = dns.message.make_query(qname, qtype, rdclass=qclass, use_edns=0 if edns else None)
    q.use_tsig(KEYRING, keyname=key, fudge=300, algorithm=KEYS[key][0])
    return q


def unsigned_wire(qname, qtype, edns=False, qid=0x5151):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else None)
    q.id = qid
    return q.to_wire()


def main():
    cairn = int(sys.argv[1])
    nsd = int(sys.argv[2]) if len(sys.argv) > 2 else None
    now = int(time.time())
    results = []

    def case(name, wire, expect, tcp=False, check=None, nsd_differs=None):
        """expect: the outcome Cairn must give (keys of `outcome`, those given); check(resp): more checks
        of Cairn's answer; nsd_differs: what NSD gives instead where it differs on purpose (docs/dns.md)."""
        problems = []
        try:
            r = exchange(cairn, wire, tcp)
            got = outcome(r)
            for k, v in expect.items():
                if got[k] != v:
                    problems.append("cairn %s=%r, expected %r" % (k, got[k], v))
            if check and not problems:
                msg = check(r)
                if msg:
                    problems.append(msg)
            if nsd is not None:
                ref = outcome(exchange(nsd, wire, tcp))
                want = dict(got)
                want.pop("signed")   # NSD signs no error (BADTIME included); signed answers are checked above
                ref_cmp = dict(ref)
                ref_cmp.pop("signed")
                if nsd_differs:
                    want.update(nsd_differs)
                if ref_cmp != want:
                    problems.append("nsd %r, expected %r" % (ref_cmp, want))
        except Exception as e:  # a timeout, a parse failure: the case fails
            problems.append("%s: %s" % (type(e).__name__, e))
        results.append((name, problems))
        print(("PASS " if not problems else "DIFF ") + name + "".join("\n    " + p for p in problems), flush=True)

    def validates(q):
        def check(r):
            try:
                dns.message.from_wire(r, keyring=KEYRING, request_mac=q.mac)
            except Exception as e:
                return "dnspython does not validate the answer: %s: %s" % (type(e).__name__, e)
            return None
        return check

    signed_ok = dict(tsig=True, error=0, signed=True)
    # -- valid keys (dnspython signs): a normal answer, signed, that dnspython validates (§5.3)
    for key in KEYS:
        q = dnspython_query("www.conf.example.", "A", key)
        w = q.to_wire()
        case("valid %s: NOERROR, signed answer validates" % key, w, dict(rcode="NOERROR", **signed_ok), check=validates(q))
    q = dnspython_query("www.conf.example.", "A", "tsig-sha256.test.", edns=True)
    w = q.to_wire()
    case("valid with EDNS: the OPT before the TSIG", w, dict(rcode="NOERROR", **signed_ok), check=validates(q))
    q = dnspython_query("www.conf.example.", "AAAA", "tsig-sha256.test.")
    w = q.to_wire()
    case("valid over TCP", w, dict(rcode="NOERROR", **signed_ok), tcp=True, check=validates(q))
    q = dnspython_query("nonexistent.conf.example.", "A", "tsig-sha256.test.")
    w = q.to_wire()
    case("valid, NXDOMAIN: signed too", w, dict(rcode="NXDOMAIN", **signed_ok), check=validates(q))
    q = dnspython_query("www.example.invalid.", "A", "tsig-sha256.test.")
    w = q.to_wire()
    case("valid, outside the zones: REFUSED, signed", w, dict(rcode="REFUSED", **signed_ok), check=validates(q))
    q = dnspython_query("big.conf.example.", "A", "tsig-sha1.test.")
    w = q.to_wire()
    case("valid, answer over 512 octets: TC, still signed (RFC 8945 5.3.1)", w, dict(rcode="NOERROR", tc=True, **signed_ok),
         check=validates(q))
    q = dnspython_query("big.conf.example.", "A", "tsig-sha1.test.")
    w = q.to_wire()
    case("valid, the same over TCP: whole and signed", w, dict(rcode="NOERROR", tc=False, **signed_ok), tcp=True, check=validates(q))

    base = unsigned_wire("www.conf.example.", "A")
    # -- crafted here (Python's hmac): first a self-check that this signer makes dnspython's bytes
    q = dns.message.make_query("www.conf.example.", "A")
    q.id = 0x5151
    q.use_tsig(KEYRING, keyname="tsig-sha256.test.", fudge=300, algorithm=dns.tsig.HMAC_SHA256)
    real_time = time.time
    time.time = lambda: float(now)
    try:
        reference = q.to_wire()
    finally:
        time.time = real_time
    mine, _ = sign_query(base, "tsig-sha256.test.", now)
    if mine != reference:
        print("DIFF the crafting signer does not make dnspython's bytes:\n    %s\n    %s" % (mine.hex(), reference.hex()))
        results.append(("self-check", ["crafting signer differs from dnspython"]))

    case("valid, crafted (self-checked against dnspython)", mine, dict(rcode="NOERROR", **signed_ok))
    w, _ = sign_query(base, "tsig-sha256.test.", now, secret=bytes(range(1, 33)))
    case("wrong secret: NOTAUTH, BADSIG, unsigned", w, dict(rcode="NOTAUTH", tsig=True, error=BADSIG, signed=False))
    w, _ = sign_query(base, "tsig-sha256.test.", now, flip=True)
    case("a flipped MAC bit: BADSIG", w, dict(rcode="NOTAUTH", tsig=True, error=BADSIG, signed=False))
    w, _ = sign_query(base, "unknown-key.test.", now)
    case("unknown key: NOTAUTH, BADKEY, unsigned", w, dict(rcode="NOTAUTH", tsig=True, error=BADKEY, signed=False))
    w, _ = sign_query(base, "tsig-sha256.test.", now, alg="hmac-sha512.")
    case("known key, another algorithm: BADKEY (NSD: BADSIG)", w, dict(rcode="NOTAUTH", tsig=True, error=BADKEY, signed=False),
         nsd_differs=dict(error=BADSIG))
    for label, when in (("an hour ago", now - 3600), ("an hour ahead", now + 3600)):
        w, mac = sign_query(base, "tsig-sha256.test.", when)

        def badtime(r, mac=mac, when=when):
            _, t = last_tsig(r)
            if not verify_by_hand(r, "tsig-sha256.test.", mac):
                return "the BADTIME answer's MAC does not verify"
            if t["time"] != when:
                return "Time Signed %d, expected the request's %d" % (t["time"], when)
            server = int.from_bytes(t["other"], "big") if len(t["other"]) == 6 else None
            if server is None or abs(server - time.time()) > 5:
                return "Other Data %r is not the server's time" % t["other"].hex()
            return None
        case("signed %s (fudge 300): NOTAUTH, BADTIME, signed, server time in Other Data (NSD: unsigned)" % label, w,
             dict(rcode="NOTAUTH", tsig=True, error=BADTIME, signed=True), check=badtime)
    w, _ = sign_query(base, "tsig-sha256.test.", now - 290)
    case("signed 290 s ago, within the fudge: answered", w, dict(rcode="NOERROR", **signed_ok))
    w, _ = sign_query(base, "tsig-sha256.test.", now, mac_len=16)
    case("a correct MAC truncated to 16 of 32 octets: BADTRUNC (NSD: BADSIG)", w,
         dict(rcode="NOTAUTH", tsig=True, error=BADTRUNC, signed=False), nsd_differs=dict(error=BADSIG))
    w, _ = sign_query(base, "tsig-sha256.test.", now, mac_len=8)
    case("a MAC of 8 octets, under max(10, 16): FORMERR (NSD: BADSIG)", w, dict(rcode="FORMERR", tsig=False),
         nsd_differs=dict(rcode="NOTAUTH", tsig=True, error=BADSIG))
    w, _ = sign_query(base, "tsig-sha256.test.", now, mac_len=40)
    case("a MAC longer than the hash: FORMERR (NSD: BADSIG)", w, dict(rcode="FORMERR", tsig=False),
         nsd_differs=dict(rcode="NOTAUTH", tsig=True, error=BADSIG))
    w, _ = sign_query(base, "tsig-sha256.test.", now, mac_len=0)
    case("an empty MAC: BADSIG", w, dict(rcode="NOTAUTH", tsig=True, error=BADSIG, signed=False))
    w, _ = sign_query(unsigned_wire("www.conf.example.", "A", edns=True), "tsig-sha256.test.", now)
    # TSIG then OPT: the OPT (the last record before the TSIG) moved behind it.
    plain = unsigned_wire("www.conf.example.", "A")
    tsig_rr = w[len(unsigned_wire("www.conf.example.", "A", edns=True)):]
    opt_rr = unsigned_wire("www.conf.example.", "A", edns=True)[len(plain):]
    opt_after = plain[:10] + struct.pack("!H", 2) + plain[12:] + tsig_rr + opt_rr
    case("a valid TSIG that is not last: FORMERR", opt_after, dict(rcode="FORMERR", tsig=False))

    failed = [n for n, p in results if p]
    print("%d passed, %d failed" % (len(results) - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
