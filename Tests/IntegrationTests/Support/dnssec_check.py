#!/usr/bin/python3
"""Checks Cairn's online DNSSEC with dnspython, an independent implementation.

usage: dnssec_check.py PORT ZONE INSECURE NAME/TYPE[/ECS] ...

Fetches ZONE's DNSKEY RRset (DO=1) and checks it is self-signed, then for each NAME/TYPE asks Cairn
with DO=1 (and an ECS option when given, e.g. 203.0.113.0/24) and checks that every RRset of the
answer, authority and additional sections from ZONE carries RRSIGs, each of which
dns.dnssec.validate_rrsig accepts against the published DNSKEY RRset (a referral's NS set and glue are not signed, RFC 4035 §2.2;
INSECURE is a comma-separated list of unsigned child zones the same server serves, whose data is not).
Prints one line per query and `OK` at the end, or `FAIL ...` lines and exits 1.
"""
import sys

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype

port = int(sys.argv[1])
zone = dns.name.from_text(sys.argv[2])
insecure = [dns.name.from_text(n) for n in sys.argv[3].split(",") if n]
failures = []


def ask(name, rdtype, ecs=None):
    options = []
    if ecs:
        address, prefix = ecs.split("/")
        options.append(dns.edns.ECSOption(address, int(prefix)))
    q = dns.message.make_query(name, rdtype, want_dnssec=True, use_edns=0, payload=1232, options=options)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
    return r


keys = ask(zone, "DNSKEY")
dnskey = keys.find_rrset(keys.answer, zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
keyring = {zone: dnskey}
# Every RRSIG on its own (during a KSK rollover the DNSKEY RRset has one per key-signing key).
for sig in keys.find_rrset(keys.answer, zone, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY):
    try:
        dns.dnssec.validate_rrsig(dnskey, sig, keyring)
    except Exception as e:  # noqa: BLE001
        failures.append(f"DNSKEY: RRSIG by key {sig.key_tag}: {e}")
print(f"DNSKEY: {len(dnskey)} keys")

for spec in sys.argv[4:]:
    parts = spec.split("/", 2)
    name, rdtype = dns.name.from_text(parts[0]), parts[1]
    ecs = parts[2] if len(parts) > 2 else None
    r = ask(name, rdtype, ecs)
    referral = not (r.flags & dns.flags.AA)
    checked = 0
    for section_name, section in (("answer", r.answer), ("authority", r.authority), ("additional", r.additional)):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG or not rrset.name.is_subdomain(zone):
                continue
            if any(rrset.name.is_subdomain(n) and not (rrset.name == n and rrset.rdtype == dns.rdatatype.DS) for n in insecure):
                continue
            if referral and rrset.rdtype in (dns.rdatatype.NS, dns.rdatatype.A, dns.rdatatype.AAAA):
                continue
            if rrset.rdtype == dns.rdatatype.CNAME and not any(s.rdtype == dns.rdatatype.RRSIG and s.covers == dns.rdatatype.CNAME
                                                               and s.name == rrset.name for s in section):
                # A DNAME's synthesized CNAME is unsigned (RFC 6672 §5.3.1).
                if any(s.rdtype == dns.rdatatype.DNAME for s in section):
                    continue
            sigs = [s for s in section if s.rdtype == dns.rdatatype.RRSIG and s.covers == rrset.rdtype and s.name == rrset.name]
            if not sigs:
                failures.append(f"{spec}: {section_name} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} has no RRSIG")
                continue
            try:
                for sig in sigs[0]:
                    dns.dnssec.validate_rrsig(rrset, sig, keyring)
                checked += 1
            except Exception as e:  # noqa: BLE001
                failures.append(f"{spec}: {section_name} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: {e}")
    print(f"{spec}: rcode {dns.rcode.to_text(r.rcode())}, {checked} RRsets validated")

for f in failures:
    print("FAIL", f)
print("OK" if not failures else "FAILED")
sys.exit(1 if failures else 0)
