#!/usr/bin/python3
"""Helper for Tests/EndToEndTests/TransferPeerTests.swift and SecondaryTests.swift (not a suite: no groups).

  peer_compare.py answers ZONEFILE ORIGIN MERIDIAN_PORT PEER PEER_PORT
  peer_compare.py zones CONFIG MERIDIAN_PORT PEER PEER_PORT

A secondary (PEER: knot, nsd or bind) that transferred ORIGIN from Meridian must answer every
query exactly as Meridian does; with `zones`, for every zone of a meridian CONFIG (the
differential test's Tests/Fixtures/meridian.yaml) at once, which also serves to compare a
Meridian secondary (MERIDIAN_PORT) with its primary (PEER). The queries are the differential test's "names" plan restricted
to the zone: every owner name of ZONEFILE, its empty non-terminals, names matched by its
wildcards, names below its delegations, nonexistent names, each with the common types and its own
types, over UDP and TCP. The responses are compared as differential.py compares them (rcode,
opcode, flags, question, the answer, authority and additional sections as sets of RRsets, OPT),
and only differential.py's KNOWN classes (each narrowly matched, with its RFC reason) are
accepted. Prints a summary and the differences; exits 0 when nothing unexplained differs.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.name  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

import differential as d  # noqa: E402
import servers  # noqa: E402

TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DS", "SRV", "CAA", "PTR", "HTTPS"]


class Endpoint:
    def __init__(self, name, port):
        self.name, self.port, self.host, self.host6 = name, port, "127.0.0.1", "::1"


# Differences of a peer that differential.py does not run (BIND), each narrowly matched.
PEER_KNOWN = {}


def _bind_soa_ttl0(q, a, b, diff, ctx, pair):
    if pair.b != "bind" or diff != ["authority"] or q.qtype != dns.rdatatype.SOA:
        return False
    ma, mb = a["authority"], b["authority"]
    if len(ma) != 1 or len(mb) != 1:
        return False
    (ka,), (kb,) = ma, mb
    return ka[1] == kb[1] == "SOA" and kb[3] == 0 and ka[:3] == kb[:3] and ka[4] == kb[4]


PEER_KNOWN["bind-negative-soa-ttl-0"] = (
    "BIND answers a query of type SOA that has no answer (NODATA or NXDOMAIN below the apex) with the "
    "zone's SOA in the authority section at TTL 0, so that resolvers do not cache the negative answer "
    "to a SOA query (BIND's query.c; RFC 2308 section 5 leaves the negative TTL to the server). Matched "
    "only for QTYPE=SOA when nothing but the authority section differs, each side has one SOA RRset "
    "there with the same owner and RDATA, and BIND's TTL is 0.", _bind_soa_ttl0)


def corpus(path, origin):
    return corpus_of([(origin, path)])


def corpus_of(zones):
    """The queries for the names of `zones` ((origin, file) pairs), and the context of all of them."""
    owners, zobjs = d.zone_names(zones)
    apexes = [dns.name.from_text(origin) for origin, _ in zones]
    names = [n for n in d.interesting_names(owners, zobjs) if any(n.is_subdomain(apex) for apex in apexes)]
    rng = random.Random(d.SEED)
    out = []
    for n in names:
        types = [dns.rdatatype.from_text(t) for t in TYPES]
        types += [t for t in sorted(owners.get(n, ())) if t not in types]
        for t in types:
            for tcp in (False, True):
                q = d.Query()
                q.idx, q.qname, q.qtype, q.qclass, q.group = len(out), n.to_text(), t, dns.rdataclass.IN, "names"
                q.edns, q.tcp, q.v6, q.rd, q.cd, q.note = "1232", tcp, False, False, False, ""
                q.wire = d.build_wire(rng, q)
                out.append(q)
    return out, d.Ctx(owners, zobjs)


def answers(path, origin, meridian_port, peer, peer_port):
    return compare(*corpus(path, origin), meridian_port, peer, peer_port)


def compare(queries, ctx, meridian_port, peer, peer_port):
    a, b = Endpoint("meridian", meridian_port), Endpoint(peer, peer_port)
    pair = d.Pair("meridian", peer)
    positive = 0
    for q in queries:
        na, nb = d.normalise(d.ask(a, q)), d.normalise(d.ask(b, q))
        if na.get("answer"):
            positive += 1
        diff = d.differing(na, nb)
        if not diff:
            pair.same += 1
            continue
        cls = None
        if "timeout" not in diff and "unparseable" not in diff:
            known = list(d.KNOWN.items()) + list(PEER_KNOWN.items())
            cls = next((name for name, (_, fn) in known if fn(q, na, nb, diff, ctx, pair)), None)
        if cls:
            pair.known[cls] += 1
        else:
            key = "+".join(diff)
            pair.unexplained[key] += 1
            if len(pair.examples[key]) < 5:
                pair.examples[key].append((q, na, nb, diff))
    bad = sum(pair.unexplained.values())
    print(f"{len(queries)} queries, {positive} with a non-empty answer from meridian: {pair.same} identical, "
          f"{sum(pair.known.values())} known differences, {bad} unexplained")
    for cls, n in pair.known.most_common():
        print(f"  known {cls}: {n}")
    for key, n in pair.unexplained.most_common():
        print(f"  UNEXPLAINED [{key}]: {n}")
        for ex in pair.examples[key]:
            d.print_example(pair, *ex)
    if positive == 0:
        print("FAIL: meridian answered no query with data: the corpus tested nothing")
        return 1
    return 1 if bad else 0


def main(argv):
    if len(argv) == 7 and argv[1] == "answers":
        return answers(argv[2], argv[3], int(argv[4]), argv[5], int(argv[6]))
    if len(argv) == 6 and argv[1] == "zones":
        return compare(*corpus_of(servers.load_zones(argv[2])), int(argv[3]), argv[4], int(argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except servers.Missing as e:
        print(e, file=sys.stderr)
        sys.exit(2)
