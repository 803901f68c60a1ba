#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into Fuzz/corpus/<target>/ (docs/FUZZING.md).

Seeds are the inputs the tests already trust: the differential test's query corpus and the
malformed-packet suite's cases (Tests/Differential), queries with every EDNS option the engine
reads (ECS, NSID, cookies, TSIG signed with the fuzz fixture's key), CHAOS and routed names; the
example and fixture zone files and configurations; framed TCP streams of those queries. Each
file is named by the SHA-1 of its content, as libFuzzer names corpus files, so rerunning this
script adds nothing twice. Run with Debian's /usr/bin/python3 (dnspython).
"""
import hashlib
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Differential"))

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402

import differential  # noqa: E402
import malformed  # noqa: E402
import servers  # noqa: E402

# Must match FuzzFixture.tsigKey (Fuzz/Sources/FuzzHarness/Fixture.swift).
TSIG_KEY = dns.tsig.Key("fuzz-key.", b"meridian-fuzz-tsig-secret-bytes!", dns.tsig.HMAC_SHA256)


def write(target, data):
    directory = os.path.join(ROOT, "Fuzz", "corpus", target)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def query_seeds():
    """Wire queries, each with the transport it was meant for."""
    out = []
    zones = servers.load_zones(servers.FIXTURE_CONFIG)
    corpus, _, _ = differential.make_corpus(zones, 400)
    # The differential corpus asks every name for every type (thousands); a sample seeds as well.
    out += [(q.wire, q.tcp) for q in random.Random(7).sample(corpus, 500)]
    out += [(c["data"], c["tcp"]) for c in malformed.cases()]
    names = ["geo.example.com.", "rr.example.com.", "w.example.com.", "map.example.com.", "fo.example.com.",
             "rnd.example.com.", "deep.a.b.example.com.", "www.example.com.", "edge.example.",
             "UPPER.Mixed.EDGE.example.", "mx-root.malformed-rdata.example.", "srv-root.malformed-rdata.example.",
             "x.wild.malformed-rdata.example.",
             "https-root.malformed-rdata.example.", "big-label.malformed-rdata.example."]
    for i, name in enumerate(names):
        for rdtype in ("A", "AAAA", "ANY", "MX", "SRV", "HTTPS", "TXT"):
            m = dns.message.make_query(name, rdtype, use_edns=0, payload=512 + 97 * i)
            out.append((m.to_wire(), False))
            ecs = dns.edns.ECSOption("60.1.2.0" if i % 2 else "2400:cb00::", 24 if i % 2 else 48)
            m = dns.message.make_query(name, rdtype, use_edns=0, payload=1232,
                                       options=[ecs, dns.edns.GenericOption(dns.edns.NSID, b"")])
            out.append((m.to_wire(), i % 3 == 0))
    for name in ("geo.example.com.", "www.example.org.", "example.org."):
        cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)))
        out.append((dns.message.make_query(name, "A", use_edns=0, options=[cookie]).to_wire(), False))
        cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)) + bytes(16))
        out.append((dns.message.make_query(name, "A", use_edns=0, options=[cookie]).to_wire(), False))
        m = dns.message.make_query(name, "SOA", use_edns=0)
        m.use_tsig(dns.tsigkeyring.from_text({"fuzz-key.": "bWVyaWRpYW4tZnV6ei10c2lnLXNlY3JldC1ieXRlcyE="}),
                   keyname="fuzz-key.", algorithm=dns.tsig.HMAC_SHA256)
        out.append((m.to_wire(), False))
        m = dns.message.make_query(name, "SOA")
        m.use_tsig(dns.tsigkeyring.from_text({"other-key.": "c2VjcmV0c2VjcmV0c2VjcmV0"}), keyname="other-key.")
        out.append((m.to_wire(), True))
    for name in ("id.server.", "hostname.bind.", "version.server.", "version.bind.", "authors.bind."):
        out.append((dns.message.make_query(name, "TXT", "CH").to_wire(), False))
    return out



def signed_query_seeds(rng):
    """DO=1 queries to the signed engine (the fourth): signed answers, compact denial, NSEC and
    RRSIG queries, DS at delegations, signatures made per query, TC in 512 bytes."""
    signed_names = ["www.example.org.", "example.org.", "nope.example.org.", "child.example.org.", "a.child.example.org.",
                    "geo.example.com.", "www.example.com.", "x.wild.malformed-rdata.example.", "edge.example.", "deep.a.b.example.com."]
    for i, name in enumerate(signed_names):
        for rdtype in ("A", "AAAA", "NSEC", "RRSIG", "DS", "DNSKEY", "MX", "TXT", "ANY", "SOA"):
            m = dns.message.make_query(name, rdtype, use_edns=0, payload=512 if i % 2 else 1232, want_dnssec=True)
            write("query", bytes([(i % 2) | (rng.randrange(8) << 1) | (3 << 4) | (rng.randrange(4) << 6)]) + m.to_wire())

def presigned_query_seeds(rng):
    """DO=1 queries to the zones signed elsewhere in the signed engine: RRSIGs with every RRset,
    NSEC and NSEC3 (opt-out) proofs of NXDOMAIN, NODATA, wildcards, empty non-terminals, no DS."""
    for i, zone in enumerate(["nsec.presigned.test.", "nsec3.presigned.test."]):
        for label in ["", "www.", "nope.", "a.b.nope.", "any.wild.", "block.wild.", "b.ent.", "x.old.", "unsigned.", "x.unsigned.",
                      "secure.", "alias.", "big."]:
            for rdtype in ("A", "MX", "DS", "NSEC", "NSEC3", "TXT"):
                m = dns.message.make_query(label + zone, rdtype, use_edns=0, payload=512 if (i + len(label)) % 2 else 1232, want_dnssec=True)
                write("query", bytes([(len(label) % 2) | (rng.randrange(8) << 1) | (3 << 4) | (rng.randrange(4) << 6)]) + m.to_wire())


def main():
    rng = random.Random(20261201)
    queries = query_seeds()
    for i, (wire, tcp) in enumerate(queries):
        # QueryTarget's selector: transport, client, engine, seed (Fuzz/Sources/FuzzHarness/QueryTarget.swift).
        selector = (1 if tcp else 0) | (rng.randrange(8) << 1) | (rng.randrange(3) << 4) | (rng.randrange(4) << 6)
        write("query", bytes([selector]) + wire)
    # TCP: streams of a few framed queries, some cut off at the end; selector byte first.
    for i in range(0, len(queries), 8):
        stream = b"".join(struct.pack(">H", len(w)) + w for w, _ in queries[i:i + 1 + i % 4])
        if i % 3 == 0:
            stream = stream[:len(stream) - 1 - i % 7]
        write("tcp", bytes([i % 256]) + stream)
    write("tcp", b"\x00\x00\x00")
    # Zone files: every zone of the fixtures and the example, written for origin example. where they
    # are relative (the reader treats the others as out of zone, which is worth reaching too).
    zone_files = []
    for d in ("Tests/Fixtures/zones", "Tests/Fixtures/routing", "zones", "Fuzz/fixture"):
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if f.endswith(".zone"):
                zone_files.append(os.path.join(ROOT, d, f))
    for path in zone_files:
        text = open(path, "rb").read()
        write("zonefile", text)
        origin = b"$ORIGIN " + os.path.basename(path)[:-len("zone")].encode()
        write("zonefile", text.replace(origin, b"$ORIGIN example."))
    write("zonefile", b"$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n*.w CNAME x\nx MX 0 .\nd DNAME .\n")
    # Configurations: the example, the fixtures and the routing fixtures.
    for path in ["meridian.yaml", "Tests/Fixtures/meridian.yaml", "Fuzz/fixture/meridian.yaml"] + [
            os.path.join("Tests/Fixtures/routing", f) for f in sorted(os.listdir(os.path.join(ROOT, "Tests/Fixtures/routing")))
            if f.endswith(".yaml")]:
        write("config", open(os.path.join(ROOT, path), "rb").read())
    # Zone records (ZoneTarget's format, Fuzz/Sources/FuzzHarness/ZoneTarget.swift): SOA, NS and glue,
    # then a wildcard MX to the root, a CNAME chain, a DNAME, a delegation with glue and an SRV.
    write("zone", bytes([7,
                         0x01, 0x00, 6, 3, 0x81, 0x00, 0x0a, 0x04,                 # *.fz. MX 10 .
                         0x01, 0x04, 3, 3, 0x81, 0x01, 0x05,                       # www.fz. CNAME mail.fz.
                         0x01, 0x05, 0, 3, 4, 192, 0, 2, 25,                       # mail.fz. A
                         0x01, 0x06, 4, 3, 0x81, 0x01, 0x01,                       # sub.fz. DNAME a.fz.
                         0x01, 0x07, 2, 3, 0x81, 0x02, 0x03, 0x07,                 # x.fz. NS ns.x.fz.
                         0x02, 0x03, 0x07, 0, 3, 4, 192, 0, 2, 7,                  # ns.x.fz. A
                         0x02, 0x0a, 0x0b, 7, 3, 0x81, 0, 1, 0, 2, 0, 53, 0x01, 0x05]))  # _sip._tcp SRV → mail
    write("zone", bytes([3, 0x01, 0x00, 3, 2, 0x81, 0x00]))                     # *.fz. CNAME fz.
    write("zone", bytes([7, 0x02, 0x01, 0x02, 0xFF, 0x00, 0x01, 2]))             # a.b.fz. TYPE255? (meta: dropped)
    transfer_seeds()
    fleet_seeds()
    signed_query_seeds(random.Random(20261202))
    presigned_query_seeds(random.Random(20261203))


def transfer_seeds():
    """TransferTarget's format (Fuzz/Sources/FuzzHarness/TransferTarget.swift): a flags byte, then
    length-prefixed answers from a primary of example. (AXFR in one and in two messages; IXFR
    incremental from serial 1, AXFR-style, and current)."""
    import dns.rrset
    origin = dns.name.from_text("example.")

    def rr(text):
        return dns.rrset.from_text(*text.split(" ", 4)[:4], text.split(" ", 4)[4])

    def answer(qtype, rrsets, first=True):
        q = dns.message.make_query(origin, qtype)
        m = dns.message.make_response(q)
        m.flags |= dns.flags.AA
        if not first:
            m.question = []
        m.answer = rrsets
        return m.to_wire(origin=None)

    soa = lambda serial: rr(f"example. 300 IN SOA ns.example. hostmaster.example. {serial} 7200 3600 1209600 300")
    ns = rr("example. 300 IN NS ns.example.")
    a1 = rr("ns.example. 300 IN A 192.0.2.1")
    a2 = rr("www.example. 300 IN A 192.0.2.2")
    frame = lambda msgs: b"".join(struct.pack(">H", len(m)) + m for m in msgs)
    write("transfer", bytes([0]) + frame([answer("AXFR", [soa(2), ns, a1, a2, soa(2)])]))
    write("transfer", bytes([0]) + frame([answer("AXFR", [soa(2), ns]), answer("AXFR", [a1, soa(2)], first=False)]))
    write("transfer", bytes([1]) + frame([answer("IXFR", [soa(2), soa(1), soa(2), a2, soa(2)])]))
    write("transfer", bytes([1]) + frame([answer("IXFR", [soa(3), soa(1), a1, soa(2), soa(2), soa(3), a2, soa(3)])]))
    write("transfer", bytes([1]) + frame([answer("IXFR", [soa(2), ns, a1, a2, soa(2)])]))
    write("transfer", bytes([1]) + frame([answer("IXFR", [soa(1)])]))


def fleet_seeds():
    """FleetTarget's format (Fuzz/Sources/FuzzHarness/FleetTarget.swift): entries of a kind byte
    (its bits 3-5 the instance or data center), a 2-byte length and the record, as
    FleetModel writes them."""
    def entry(kind, who, value):
        return bytes([kind | who << 3]) + struct.pack(">H", len(value)) + value

    def member(name):
        return ('{"format":1,"record":{"configDigest":"d","instance":"%s","started":1764590000,"version":"meridian 0.1.0",'
                '"zones":[{"lastReload":1764600000,"name":"example.com.","serial":2026120101}]}}' % name).encode()

    def verdicts(name, state):
        return ('{"format":1,"instance":"%s","published":1764600000,"verdicts":[{"check":"web","datacenter":"dub",'
                '"ip":"192.0.2.1","reason":"HTTP 200","since":1764599000,"state":"%s","target":null}]}' % (name, state)).encode()

    drain = b'{"format":1,"record":{"datacenter":"dub","safeAfter":1764600300,"when":1764600000,"who":"alice@ops1","why":"power work"}}'
    write("fleet", entry(0, 0, member("a1")) + entry(1, 0, verdicts("a1", "up"))
          + entry(0, 1, member("b2")) + entry(1, 1, verdicts("b2", "down"))
          + entry(0, 2, member("c3")) + entry(1, 2, verdicts("c3", "down")))
    write("fleet", entry(0, 0, member("a1")) + entry(1, 0, verdicts("a1", "up")) + entry(2, 3, drain) + entry(4, 0, b""))
    write("fleet", entry(3, 0, b"listen: [\"127.0.0.1:53\"]\n") + entry(5, 0, b"members/zz\x00{}") + entry(1, 1, verdicts("a1", "up")))


if __name__ == "__main__":
    main()
