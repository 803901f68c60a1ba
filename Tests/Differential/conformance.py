#!/usr/bin/python3
"""Header, opcode, class, type and EDNS edge cases: Meridian's answer must equal Knot's or NSD's
(rcode, flags, section counts, OPT and its options), or be a listed difference with the RFC
sentence that allows it. Every packet goes to 127.0.0.1 or ::1. Exit status 0 when all pass.

  conformance.py [--meridian PATH] [--list] [--group GROUP] [--case GROUP/CASE] [-k PATTERN]
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import suite  # noqa: E402
import dns.message  # noqa: E402
from malformed import header, question, opt, query, udp_exchange  # noqa: E402

W = "www.example.org."

# Differences from both references, each with what allows it.
ECS = ("Knot and NSD do not implement ECS; RFC 7871 section 7.2.1: \"Such a server MUST NOT include "
       "an ECS option within replies to indicate lack of support for it.\" Meridian implements it and "
       "echoes the option with its scope.")
ECS_FAMILY = ("Knot and NSD ignore ECS; RFC 7871 section 7.2.1: \"A query with a wrongly formatted option "
              "(e.g., an unknown FAMILY) MUST be rejected and a FORMERR response MUST be returned to the sender\".")
KNOWN = {
    "edns ecs family 3": ECS_FAMILY,
    "edns ecs source 0": ECS,
    "edns ecs scope nonzero": ECS,
    "edns ecs v6 /56": ECS,
    "qd 2": ("Knot is silent, NSD answers FORMERR without the question and with RD cleared; RFC 1035 "
             "section 4.1.1 gives FORMERR for a query the server cannot interpret and does not say which "
             "header bits to copy. Meridian answers FORMERR without the question, RD copied."),
    "opcode UPDATE": ("Knot answers NOTAUTH, NSD NOTIMP; Meridian NOTIMP like NSD but keeps the question "
                      "(RFC 2136 section 3: a server that does not support UPDATE answers NOTIMP)."),
    "edns owner non-root": ("Knot answers as if the OPT were fine, NSD FORMERR without the question; "
                            "RFC 6891 section 6.1.2: \"NAME: MUST be 0 (root domain)\"; Meridian answers "
                            "FORMERR and echoes the question."),
    "notify unknown zone": ("Knot answers NOTAUTH, NSD NXDOMAIN; RFC 1996 section 3.10 lets a server that "
                            "is no secondary for the zone refuse the NOTIFY: REFUSED until transfers exist."),
}

def summ(r):
    if r is None: return "silence"
    if len(r) < 12: return f"short {r.hex()}"
    fl = struct.unpack("!H", r[2:4])[0]; qd, an, ns, ar = struct.unpack("!HHHH", r[4:12])
    flags = [n for n,b in (("qr",15),("aa",10),("tc",9),("rd",8),("ra",7),("z",6),("ad",5),("cd",4)) if fl>>b&1]
    rc = fl & 0xF
    ext = ""
    try:
        m = dns.message.from_wire(r, keyring={}, ignore_trailing=True)
        rc = m.rcode()
        if m.edns >= 0:
            ext = " opt[" + ",".join(f"{o.otype}" + (f":{o.code}" if o.otype==15 else "") for o in m.options) + f" v{m.edns} sz{m.payload}]"
    except Exception as e:
        ext = f" undecodable({type(e).__name__})"
    return f"op{(fl>>11)&15} rc{rc} {'/'.join(flags)} qd{qd} an{an} ns{ns} ar{ar}{ext}"
cases = {
 "qd0": header(qd=0),
 "qd0 edns": header(qd=0, ar=1)+opt(),
 "opcode STATUS": bytes([0x12,0x34,0x10,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "opcode 15": bytes([0x12,0x34,0x78,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "opcode UPDATE": bytes([0x12,0x34,0x28,0x00])+struct.pack("!HHHH",1,0,0,0)+question("example.org.", qtype=6),
 "opcode IQUERY": bytes([0x12,0x34,0x08,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "TC in query": bytes([0x12,0x34,0x03,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "Z in query": bytes([0x12,0x34,0x01,0x40])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "AD in query": bytes([0x12,0x34,0x01,0x20])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "AA in query": bytes([0x12,0x34,0x05,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "RA in query": bytes([0x12,0x34,0x01,0x80])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "rcode in query": bytes([0x12,0x34,0x01,0x05])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "qtype 0": query(W, qtype=0),
 "qtype MAILB": query(W, qtype=253),
 "qtype MAILA": query(W, qtype=254),
 "qtype IXFR udp": query("example.org.", qtype=251),
 "qtype AXFR udp": query("example.org.", qtype=252),
 "qtype OPT": query(W, qtype=41),
 "qtype TSIG": query(W, qtype=250),
 "qtype TKEY": query(W, qtype=249),
 "qtype RRSIG": query(W, qtype=46),
 "qtype 128 meta": query(W, qtype=128),
 "class NONE": query(W, qclass=254),
 "class 0": query(W, qclass=0),
 "class CH version.bind": query("version.bind.", qtype=16, qclass=3),
 "class HS": query(W, qclass=4),
 "payload 100": header(ar=1)+question(W)+opt(payload=100),
 "payload 0": header(ar=1)+question(W)+opt(payload=0),
 "edns v1": header(ar=1)+question(W)+opt(version=1),
 "edns v1 + bad ecs": header(ar=1)+question(W)+opt(version=1, options=struct.pack("!HHHBB",8,4,1,33,0)),
 "edns ext-rcode set": header(ar=1)+question(W)+opt(ext_rcode=1),
 "edns DO": header(ar=1)+question(W)+opt(do=1),
 "edns Z bits": header(ar=1)+question(W)+ (b"\x00"+struct.pack("!HHIH",41,1232,0x00004000,0)),
 "edns unknown opt": header(ar=1)+question(W)+opt(options=struct.pack("!HH",65001,3)+b"abc"),
 "edns opt truncated": header(ar=1)+question(W)+ (b"\x00"+struct.pack("!HHIH",41,1232,0,6)+struct.pack("!HH",65001,9)+b"ab"),
 "edns padding": header(ar=1)+question(W)+opt(options=struct.pack("!HH",12,8)+bytes(8)),
 "edns keepalive udp": header(ar=1)+question(W)+opt(options=struct.pack("!HH",11,0)),
 "edns expire": header(ar=1)+question(W)+opt(options=struct.pack("!HH",9,0)),
 "edns nsid nonempty": header(ar=1)+question(W)+opt(options=struct.pack("!HH",3,2)+b"ab"),
 "edns ecs family 3": header(ar=1)+question(W)+opt(options=struct.pack("!HHHBB",8,4,3,0,0)),
 "edns ecs source 0": header(ar=1)+question(W)+opt(options=struct.pack("!HHHBB",8,4,1,0,0)),
 "edns ecs scope nonzero": header(ar=1)+question(W)+opt(options=struct.pack("!HHHBB",8,7,1,24,5)+bytes([1,2,3])),
 "edns ecs v6 /56": header(ar=1)+question(W)+opt(options=struct.pack("!HHHBB",8,11,2,56,0)+bytes([0x20,1,0xd,0xb8,0,0,0])),
 "edns owner non-root": header(ar=1)+question(W)+opt(owner=b"\x01a\x00"),
 "two OPT": header(ar=2)+question(W)+opt()+opt(),
 "trailing byte": query(W)+b"\x00",
 "ancount 1 real rr": header(an=1)+question(W)+b"\xc0\x0c"+struct.pack("!HHIH",1,1,0,4)+bytes(4),
 "nscount 1 real rr": header(ns=1)+question(W)+b"\xc0\x0c"+struct.pack("!HHIH",1,1,0,4)+bytes(4),
 "ar A record": header(ar=1)+question(W)+b"\xc0\x0c"+struct.pack("!HHIH",1,1,0,4)+bytes(4),
 "ptr in qname": header()+b"\xc0\x0c"+struct.pack("!HH",1,1),
 "label 64": header()+b"\x40"+b"a"*64+b"\x00"+struct.pack("!HH",1,1),
 "bad label type 0x40": header()+b"\x41a\x00"+struct.pack("!HH",1,1),
 "name 256": header()+(b"\x3f"+b"a"*63)*4+b"\x00"+struct.pack("!HH",1,1),
 "question cut": header()+b"\x03www",
 "qd 2": header(qd=2)+question(W)+question(W),
 "only header": header(),
 "11 bytes": header()[:11],
 "response qr=1": bytes([0x12,0x34,0x81,0x00])+struct.pack("!HHHH",1,0,0,0)+question(W),
 "notify unknown zone": bytes([0x12,0x34,0x20,0x00])+struct.pack("!HHHH",1,0,0,0)+question("nowhere.test.", qtype=6),
 "root .": query(".", qtype=2),
 "DS at apex": query("example.org.", qtype=43),
 "nx in zone any": query("nx.example.org.", qtype=255),
 "wildcard qname *": query("*.example.org.", qtype=1),
}


# The groups --group selects, by what a case varies.
GROUPS = {
    "header": ["qd0", "qd0 edns", "TC in query", "Z in query", "AD in query", "AA in query", "RA in query",
               "rcode in query", "only header", "11 bytes", "response qr=1", "trailing byte", "qd 2"],
    "opcode": ["opcode STATUS", "opcode 15", "opcode UPDATE", "opcode IQUERY", "notify unknown zone"],
    "qtype": [n for n in cases if n.startswith("qtype ")] + ["root .", "DS at apex", "nx in zone any", "wildcard qname *"],
    "class": [n for n in cases if n.startswith("class ")],
    "edns": [n for n in cases if n.startswith(("payload ", "edns ")) or n == "two OPT"],
    "sections": ["ancount 1 real rr", "nscount 1 real rr", "ar A record"],
    "names": ["ptr in qname", "label 64", "bad label type 0x40", "name 256", "question cut"],
}


def all_cases():
    group_of = {name: g for g, names in GROUPS.items() for name in names}
    missing = [n for n in cases if n not in group_of]
    if missing:
        raise ValueError(f"conformance: cases in no group: {missing}")
    return [suite.Case(group_of[name], name, wire=wire) for name, wire in cases.items()]


def main():
    ap = suite.parser(__doc__.split("\n\n")[0])
    args = ap.parse_args()
    chosen = suite.select("conformance", all_cases(), args)
    report = suite.Report("conformance")
    zones = servers.load_zones(servers.FIXTURE_CONFIG)
    started = []
    try:
        try:
            for start in (servers.start_knot, servers.start_nsd):
                started.append(start(zones))
            started.append(servers.start_meridian(args.meridian or servers.default_meridian(), zones))
        except Exception as e:  # a missing tool, a server that does not start: every case fails, saying why
            for case in chosen:
                report.record(case, [str(e)])
            return report.summary() and 2
        knot, nsd, mer = started
        for case in chosen:
            name = case.name
            k, n, m = (summ(udp_exchange(s, case["wire"], wait=1.0)) for s in (knot, nsd, mer))
            if m in (k, n):
                report.record(case, [], [f"meridian {m}"])
            elif name in KNOWN:
                report.record(case, [], [f"KNOWN: meridian {m}; knot {k}; nsd {n}", KNOWN[name]])
            else:
                report.record(case, ["meridian answers as neither Knot nor NSD",
                                     f"knot     {k}", f"nsd      {n}", f"meridian {m}"])
        if not mer.alive():
            report.record("conformance/afterwards", ["meridian exited"])
    finally:
        for s in started:
            s.stop()
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
