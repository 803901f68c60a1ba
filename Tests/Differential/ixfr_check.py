#!/usr/bin/python3
"""Helper for Tests/EndToEndTests/IXFRTests.swift (not a suite: no groups).

  ixfr_check.py apply ORIGIN PORT OLDZONE NEWZONE

Loads OLDZONE (the client's version) into dnspython, asks the server at 127.0.0.1:PORT for IXFR
from its serial over TCP, lets dnspython apply the answer (incremental, or AXFR-style) and
compares the result with NEWZONE as sets of (owner, TTL, type, RDATA text). Prints "ok
incremental N records" (the first message's second record is an SOA: RFC 1995 §4's incremental
form) or "ok axfr-style N records" and exits 0 when they match.
"""
import sys

import dns.message
import dns.query
import dns.rdatatype
import dns.xfr
import dns.zone


def records(zone):
    return {(str(n).lower(), ttl, rd.rdtype, rd.to_text().lower()) for n, ttl, rd in zone.iterate_rdatas()}


def main(argv):
    if argv[1] != "apply":
        print(__doc__)
        return 2
    origin, port, old, new = argv[2], int(argv[3]), argv[4], argv[5]
    zone = dns.zone.from_file(old, origin=origin, relativize=False, check_origin=False)
    query, serial = dns.xfr.make_query(zone)
    first = dns.query.tcp(query, "127.0.0.1", port=port, timeout=10, one_rr_per_rrset=True)
    answers = [(rrset.rdtype, rd) for rrset in first.answer for rd in rrset]
    kind = "incremental" if len(answers) >= 2 and answers[1][0] == dns.rdatatype.SOA else "axfr-style"
    query, _ = dns.xfr.make_query(zone)
    dns.query.inbound_xfr("127.0.0.1", zone, query, port=port, timeout=10)
    expected = records(dns.zone.from_file(new, origin=origin, relativize=False, check_origin=False))
    got = records(zone)
    if got != expected:
        print(f"FAIL ({kind} from {serial}): missing {sorted(expected - got)[:10]} unexpected {sorted(got - expected)[:10]}")
        return 1
    print(f"ok {kind} {len(got)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
