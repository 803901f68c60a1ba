#!/usr/bin/python3
"""Helpers for Tests/EndToEndTests/ZoneTransferTests.swift (not a suite: no groups).

  axfr_compare.py kdig ZONEFILE ORIGIN KDIG_OUTPUT   kdig +noall +answer AXFR output = the zone file
  axfr_compare.py xfr ZONEFILE ORIGIN PORT [KEYNAME SECRET]   dnspython AXFR over TCP = the zone file
  axfr_compare.py rcode ORIGIN PORT udp|tcp [KEYNAME SECRET]  the rcode of one AXFR query

The zone file and the transfer are compared as sets of (owner, TTL, type, RDATA text); the
transfer's first and last records must be the SOA. Prints one line and exits 0 when they match.
"""
import sys

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.zone


def records_of_zone_file(path, origin):
    zone = dns.zone.from_file(path, origin=origin, relativize=False, check_origin=False)
    return {(str(n).lower(), ttl, rd.rdtype, rd.to_text().lower()) for n, ttl, rd in zone.iterate_rdatas()}


def check(expected, sequence, extra=""):
    """sequence: the transferred records in order, as (owner, ttl, type, rdata text)."""
    if not sequence or sequence[0][2] != dns.rdatatype.SOA or sequence[-1][2] != dns.rdatatype.SOA:
        print(f"FAIL: SOA not first and last: first {sequence[:1]} last {sequence[-1:]}")
        return 1
    got = set(sequence[:-1])
    if len(sequence) - 1 != len(got):
        print(f"FAIL: {len(sequence) - 1 - len(got)} records sent twice")
        return 1
    if got != expected:
        print(f"FAIL: missing {sorted(expected - got)[:10]} unexpected {sorted(got - expected)[:10]}")
        return 1
    print(f"ok {len(got)} records{extra}")
    return 0


def keyring(argv):
    if len(argv) >= 2:
        return dns.tsigkeyring.from_text({argv[0]: ("hmac-sha256", argv[1])}), dns.name.from_text(argv[0])
    return None, None


def main(argv):
    mode = argv[1]
    if mode == "kdig":
        path, origin, output = argv[2], argv[3], argv[4]
        sequence = []
        for line in open(output):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            z = dns.zone.from_text(line + "\n", origin=origin, relativize=False, check_origin=False)
            for n, ttl, rd in z.iterate_rdatas():
                sequence.append((str(n).lower(), ttl, rd.rdtype, rd.to_text().lower()))
        return check(records_of_zone_file(path, origin), sequence)
    if mode == "xfr":
        path, origin, port = argv[2], argv[3], int(argv[4])
        ring, keyname = keyring(argv[5:])
        query = dns.message.make_query(origin, "AXFR")
        if ring:
            query.use_tsig(ring, keyname=keyname, algorithm="hmac-sha256")
        sequence, messages = [], 0
        # dns.query.xfr checks every message's TSIG (RFC 8945 §5.3.1) and raises on a bad one.
        for message in dns.query.xfr("127.0.0.1", origin, port=port, keyring=ring, keyname=keyname,
                                     keyalgorithm="hmac-sha256", relativize=False, lifetime=60, timeout=30):
            messages += 1
            if message.rcode() != dns.rcode.NOERROR:
                print(f"FAIL: rcode {dns.rcode.to_text(message.rcode())}")
                return 1
            if ring and message.tsig is None:
                print(f"FAIL: message {messages} is not signed")
                return 1
            for rrset in message.answer:
                for rd in rrset:
                    sequence.append((str(rrset.name).lower(), rrset.ttl, rd.rdtype, rd.to_text().lower()))
        return check(records_of_zone_file(path, origin), sequence, f" in {messages} messages")
    if mode == "rcode":
        origin, port, transport = argv[2], int(argv[3]), argv[4]
        ring, keyname = keyring(argv[5:])
        query = dns.message.make_query(origin, "AXFR")
        if ring:
            query.use_tsig(ring, keyname=keyname, algorithm="hmac-sha256")
        try:
            if transport == "udp":
                response = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
            else:
                response = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
        except dns.tsig.PeerError as e:
            # A NOTAUTH answer with a TSIG error (BADSIG, BADKEY): dnspython raises when reading it.
            print(f"NOTAUTH {type(e).__name__}")
            return 0
        print(dns.rcode.to_text(response.rcode()))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
