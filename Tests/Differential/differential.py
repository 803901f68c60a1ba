#!/usr/bin/python3
"""Differential test: the same zones served by Knot DNS, NSD and Meridian,
compared response by response over a generated corpus of queries.

    /usr/bin/python3 Tests/Differential/differential.py [--meridian PATH]
    /usr/bin/python3 Tests/Differential/differential.py --peers-only
    /usr/bin/python3 Tests/Differential/differential.py --group large      (or -k '#17 ', --list)

Each query is a case, named by its description (`#17 www.example.org. A edns=none udp4 +rd`), in
the group of the part of the corpus it comes from: names (every interesting name with the common
types and its own), rare (rare types), classes (CH and HS), random (the rest of the corpus) and
large (the large RRsets under every EDNS size). The corpus is built whole, then selected from,
so a query keeps its bytes whatever the selection.

Every query's identical bytes go to every server (UDP, or TCP for a share of
the corpus; IPv4 and some IPv6). For each pair of servers the responses are
compared on: rcode (with the extended bits), opcode, the header flags (QR, AA,
TC, RD, RA, AD, CD), the question section byte for byte (and against the query),
the answer, authority and additional sections as sets of RRsets (owner lowercased,
type, class, TTL, set of RDATA), and the OPT record (presence, DO, version,
extended rcode).

A difference is either one of the KNOWN classes below, each with its RFC reason
and matched narrowly, or a failure. Exit status 0 only when there is no
unexplained difference (and no server failed to answer).
"""

import collections
import os
import random
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import dns.edns
    import dns.flags
    import dns.message
    import dns.name
    import dns.rdataclass
    import dns.rdatatype
    import dns.rcode
    import dns.rdata
    import dns.zone
except ImportError:
    print("python3-dnspython is missing: run scripts/install-deps (Debian package python3-dnspython) "
          "and use /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

import servers  # noqa: E402
import suite  # noqa: E402

SEED = 20240601
QTYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME", "DS", "SRV", "PTR", "CAA",
          "HTTPS", "SVCB", "DNSKEY", "TYPE65280", "ANY"]
RARE_QTYPES = ["SSHFP", "TLSA", "NAPTR", "HINFO", "LOC", "RP", "SPF", "URI", "AFSDB", "CERT", "KX",
               "OPENPGPKEY", "SMIMEA", "DHCID", "EUI48", "EUI64", "CDS", "ZONEMD", "NULL", "TYPE1234",
               "NSEC", "RRSIG"]
EDNS_VARIANTS = ["none", "512", "1232", "4096", "do", "unknown-option", "version1"]
UNKNOWN_OPTION_CODE = 65001  # in the RFC 6891 local/experimental range: must be ignored


# ---------------------------------------------------------------- corpus

class Query:
    __slots__ = ("idx", "qname", "qtype", "qclass", "edns", "tcp", "v6", "rd", "cd", "wire", "note", "group")

    def describe(self):
        t = dns.rdatatype.to_text(self.qtype)
        via = ("tcp" if self.tcp else "udp") + ("6" if self.v6 else "4")
        flags = ("+rd" if self.rd else "+nord") + (" +cd" if self.cd else "")
        c = "" if self.qclass == dns.rdataclass.IN else " " + dns.rdataclass.to_text(self.qclass)
        return f"#{self.idx} {self.qname}{c} {t} edns={self.edns} {via} {flags}"


def random_case(rng, text):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower() for c in text)


def build_wire(rng, q):
    name = dns.name.from_text(q.qname)
    kw = {}
    if q.edns == "none":
        kw["use_edns"] = False
    elif q.edns in ("512", "1232", "4096"):
        kw.update(use_edns=0, payload=int(q.edns))
    elif q.edns == "do":
        kw.update(use_edns=0, payload=1232, want_dnssec=True)
    elif q.edns == "unknown-option":
        kw.update(use_edns=0, payload=1232,
                  options=[dns.edns.GenericOption(UNKNOWN_OPTION_CODE, b"meridian-test")])
    elif q.edns == "version1":
        kw.update(use_edns=False)
    m = dns.message.make_query(name, q.qtype, q.qclass, **kw)
    if q.edns == "version1":
        m.use_edns(edns=1, payload=1232)  # make_query's use_edns=1 means "EDNS version 0"
    m.id = rng.randrange(0, 65536)
    m.flags = (dns.flags.RD if q.rd else 0) | (dns.flags.CD if q.cd else 0)
    return m.to_wire()


def zone_names(zones):
    """owner name -> set of RRset types, over every served zone, plus the zone objects."""
    owners = {}
    zobjs = {}
    for origin, path in zones:
        z = dns.zone.from_file(path, origin, relativize=False, check_origin=True)
        zobjs[dns.name.from_text(origin)] = z
        for name, node in z.nodes.items():
            owners.setdefault(name, set()).update(rds.rdtype for rds in node.rdatasets)
    return owners, zobjs


def interesting_names(owners, zobjs):
    """Names to query: owners, empty non-terminals, nonexistent names, wildcard
    matches, names below delegations and DNAMEs, and names outside every zone."""
    names = set()
    for n in owners:
        names.add(n)
        # empty non-terminals and ancestors up to the zone apex
        p = n
        while len(p.labels) > 1:
            p = p.parent()
            if any(p.is_subdomain(o) for o in zobjs):
                names.add(p)
        if n.labels[0] == b"*":
            base = n.parent()
            for lab in ("match", "a.b", "exists", "ent", "x.ent", "deep.ent", "host.del"):
                names.add(dns.name.from_text(lab, base))
        else:
            names.add(dns.name.from_text("nx-below", n))
    for o in zobjs:
        for lab in ("nonexistent", "zz-nx", "a.b.c.nonexistent", "www.x", "-", "0"):
            names.add(dns.name.from_text(lab, o))
    # below delegations, DNAMEs, and the escaped-dot label's neighbours
    extra = ["host.deleg.example.org.", "a.b.deleg.example.org.", "ns.deleg.example.org.",
             "x.outdeleg.example.org.", "x.netdeleg.example.org.", "x.manyns.example.org.",
             "a.manyns.example.org.", "x.sibling.example.org.",
             "www.child.example.org.", "nx.child.example.org.", "x.grandchild.child.example.org.",
             "www.dn.example.org.", "nx.dn.example.org.", "a.b.dn.example.org.", "back.dn.example.org.",
             "legacy.dn.example.org.", "www.legacy.example.net.", "c1.legacy.example.net.",
             "a.target.dnin.example.org.", "a.dnin.example.org.", "b.dnin.example.org.",
             "c.d.dnin.example.org.", "nx.dnin.example.org.", "d.dnin.example.org.",
             "a.dnout.example.org.", "a.dnloop.example.org.",
             "label.dot.example.org.", "x.dot\\.label.example.org.", "sub.a.example.net.", "a.example.net.",
             "x.a.example.net.",
             "example.com.", "www.example.com.", "org.", "net.", ".", "example.", "test.",
             "ns.external.test.", "www.example.invalid.", "xexample.org.", "example.org.example.net."]
    for e in extra:
        names.add(dns.name.from_text(e))
    return sorted(names)


def make_corpus(zones, size_hint):
    rng = random.Random(SEED)
    owners, zobjs = zone_names(zones)
    names = interesting_names(owners, zobjs)
    plan = []
    for n in names:
        types = [dns.rdatatype.from_text(t) for t in QTYPES]
        for t in owners.get(n, ()):
            if t not in types:
                types.append(t)
        for t in types:
            plan.append((n, t, dns.rdataclass.IN, "names"))
    for n in rng.sample(names, min(len(names), 60)):
        plan.append((n, dns.rdatatype.from_text(rng.choice(RARE_QTYPES)), dns.rdataclass.IN, "rare"))
    # a few other classes: CH for a zone name, HS, ANY class
    for n in ("www.example.org.", "example.org."):
        for c in ("CH", "HS"):
            plan.append((dns.name.from_text(n), dns.rdatatype.A, dns.rdataclass.from_text(c), "classes"))
    while len(plan) < size_hint:
        n = rng.choice(names)
        plan.append((n, dns.rdatatype.from_text(rng.choice(QTYPES + RARE_QTYPES)), dns.rdataclass.IN, "random"))
    corpus = []
    for i, (n, t, c, group) in enumerate(plan):
        q = Query()
        q.idx, q.qtype, q.qclass, q.group = i, t, c, group
        text = n.to_text()
        q.qname = random_case(rng, text) if rng.random() < 0.35 else text
        q.edns = EDNS_VARIANTS[i % len(EDNS_VARIANTS)] if rng.random() < 0.6 else rng.choice(["none", "1232"])
        q.tcp = rng.random() < 0.2
        q.v6 = rng.random() < 0.15
        q.rd = rng.random() < 0.5
        q.cd = rng.random() < 0.05
        q.note = ""
        q.wire = build_wire(rng, q)
        corpus.append(q)
    # the large RRsets under every EDNS size, over UDP and TCP
    for name in ("big.example.org.", "huge.example.org.", "x.manyns.example.org.", "example.org."):
        for t in ("TXT", "NS", "ANY", "A"):
            for edns in ("none", "512", "1232", "4096"):
                for tcp in (False, True):
                    q = Query()
                    q.idx, q.qtype, q.qclass = len(corpus), dns.rdatatype.from_text(t), dns.rdataclass.IN
                    q.qname, q.edns, q.tcp, q.v6, q.rd, q.cd, q.note = name, edns, tcp, False, False, False, ""
                    q.group = "large"
                    q.wire = build_wire(rng, q)
                    corpus.append(q)
    return corpus, owners, zobjs


# ---------------------------------------------------------------- transport

def ask(server, q, timeout=3.0):
    """The raw response bytes, or None on timeout."""
    host = server.host6 if q.v6 else server.host
    fam = socket.AF_INET6 if q.v6 else socket.AF_INET
    if q.tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, server.port))
            s.sendall(struct.pack("!H", len(q.wire)) + q.wire)
            hdr = servers.recv_exact(s, 2)
            if hdr is None:
                return None
            return servers.recv_exact(s, struct.unpack("!H", hdr)[0])
        except (socket.timeout, ConnectionError, OSError):
            return None
        finally:
            s.close()
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q.wire, (host, server.port))
        deadline = time.time() + timeout
        while time.time() < deadline:
            data, _ = s.recvfrom(65535)
            if len(data) >= 2 and data[:2] == q.wire[:2]:
                return data
        return None
    except (socket.timeout, OSError):
        return None
    finally:
        s.close()


# ---------------------------------------------------------------- normalisation

FLAG_NAMES = [("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC), ("RD", dns.flags.RD),
              ("RA", dns.flags.RA), ("AD", dns.flags.AD), ("CD", dns.flags.CD)]


def question_bytes(wire):
    """The question section's bytes (QDCOUNT must be 1, name uncompressed)."""
    if len(wire) < 12:
        return None
    qd = struct.unpack("!H", wire[4:6])[0]
    if qd != 1:
        return b""
    i = 12
    while i < len(wire):
        ln = wire[i]
        if ln == 0:
            return wire[12:i + 5]
        if ln & 0xC0:
            return wire[12:i + 6]  # compressed qname: keep it, it will differ
        i += ln + 1
    return wire[12:]


def rrset_key(rrset):
    rdatas = frozenset(r.to_digestable() for r in rrset)
    return (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
            dns.rdataclass.to_text(rrset.rdclass), rrset.ttl, rdatas)


def rrset_text(key):
    name, t, c, ttl, _ = key
    return f"{name} {ttl} {c} {t}"


def normalise(wire):
    """A dict of compared fields, or a description of why it could not be parsed."""
    if wire is None:
        return {"timeout": True}
    try:
        m = dns.message.from_wire(wire, ignore_trailing=False)
    except Exception as e:
        return {"unparseable": f"{type(e).__name__}: {e}"}
    flags = m.flags
    n = {
        "rcode": dns.rcode.to_text(m.rcode()),
        "opcode": m.opcode(),
        "flags": " ".join(f for f, bit in FLAG_NAMES if flags & bit),
        "question": question_bytes(wire),
        "answer": frozenset(rrset_key(r) for r in m.answer),
        "authority": frozenset(rrset_key(r) for r in m.authority),
        "additional": frozenset(rrset_key(r) for r in m.additional),
        "opt": None if m.edns < 0 else (bool(m.ednsflags & dns.flags.DO), m.edns,
                                        (m.ednsflags >> 24) & 0xFF),
    }
    n["_msg"] = m
    n["_size"] = len(wire)
    return n


FIELDS = ["timeout", "unparseable", "rcode", "opcode", "flags", "question", "answer", "authority",
          "additional", "opt"]


def differing(a, b):
    return [f for f in FIELDS if a.get(f) != b.get(f)]


def show_field(n, f):
    v = n.get(f)
    if f in ("answer", "authority", "additional") and v is not None:
        return "{" + ", ".join(sorted(rrset_text(k) + " [" + str(len(k[4])) + " rr]" for k in v)) + "}"
    if f == "question" and v is not None:
        return v.hex()
    return repr(v)


def show_section(n, f):
    m = n.get("_msg")
    if m is None:
        return ""
    sec = {"answer": m.answer, "authority": m.authority, "additional": m.additional}.get(f)
    return "; ".join(r.to_text().replace("\n", " | ") for r in sec) if sec is not None else ""


# ---------------------------------------------------------------- checks against the query itself

def absolute_problems(q, n):
    """Properties every server's response must have, whatever the peers do."""
    p = []
    if n.get("timeout"):
        return ["no response"]
    if "unparseable" in n:
        return ["unparseable response: " + n["unparseable"]]
    if n["question"] != question_bytes(q.wire):
        p.append("question not echoed byte for byte")
    if "QR" not in n["flags"].split():
        p.append("QR not set")
    if ("RD" in n["flags"].split()) != q.rd:
        p.append("RD not echoed")
    if q.edns == "none" and n["opt"] is not None:
        p.append("OPT in the response to a query without EDNS (RFC 6891 section 7)")
    if q.edns not in ("none",) and n["opt"] is None and n["rcode"] != "FORMERR":
        p.append("no OPT in the response to an EDNS query (RFC 6891 section 7)")
    if q.edns == "do" and n["opt"] is not None and not n["opt"][0]:
        p.append("DO bit not echoed (RFC 3225 section 3)")
    if q.edns == "version1" and n["rcode"] != "BADVERS":
        p.append("EDNS version 1 not answered BADVERS (RFC 6891 section 6.1.3)")
    if not q.tcp:
        # RFC 1035 section 4.2.1 (512 without EDNS), RFC 6891 section 6.2.5 (the requestor's payload size)
        limit = {"none": 512, "512": 512, "4096": 4096}.get(q.edns, 1232)
        if n["_size"] > limit:
            p.append(f"UDP response larger than the client's limit of {limit} bytes")
    if "TC" in n["flags"].split() and q.tcp:
        p.append("TC set over TCP")
    return p


# ---------------------------------------------------------------- known differences

class Ctx:
    def __init__(self, owners, zobjs):
        self.owners, self.zobjs = owners, zobjs

    def zone_of(self, name):
        """The origin of the served zone a name falls in (the longest match), or None."""
        name = dns.name.from_text(name.lower() if isinstance(name, str) else name.to_text().lower())
        best = None
        for o in self.zobjs:
            if name.is_subdomain(o) and (best is None or len(o) > len(best)):
                best = o
        return best

    def rrsets_at(self, name):
        """The zone's RRsets at name as rrset keys (with the zone TTL), or None."""
        name = dns.name.from_text(name.lower() if isinstance(name, str) else name.to_text().lower())
        best = None
        for o, z in self.zobjs.items():
            if name.is_subdomain(o) and (best is None or len(o) > len(best)):
                best = o
        if best is None:
            return None
        z = self.zobjs[best]
        node = None
        for n, nd in z.nodes.items():
            if n.to_text().lower() == name.to_text().lower():
                node = nd
                break
        if node is None:
            return set()
        out = set()
        for rds in node.rdatasets:
            out.add((name.to_text().lower(), dns.rdatatype.to_text(rds.rdtype),
                     dns.rdataclass.to_text(rds.rdclass), rds.ttl,
                     frozenset(r.to_digestable() for r in rds)))
        return out


# Properties every response must have, with the one narrow exception seen from a peer.
ABSOLUTE_KNOWN = {
    ("nsd", "question not echoed byte for byte"): (
        "nsd-refused-class-without-question",
        "NSD answers a query of class HS (or another class it serves no zone in) with REFUSED and an "
        "empty question section; RFC 1035 section 4.1.2 does not require the question in an error "
        "response. Matched only for REFUSED responses with QDCOUNT=0 to non-IN, non-CH queries.",
        lambda q, n: n["rcode"] == "REFUSED" and n["question"] == b""
        and q.qclass not in (dns.rdataclass.IN, dns.rdataclass.CH)),
}


KNOWN = collections.OrderedDict()


def known(name, reason):
    def deco(fn):
        KNOWN[name] = (reason, fn)
        return fn
    return deco


@known("any-minimal-choice",
       "RFC 8482 section 4.1: a server may answer ANY with a subset of the RRsets at the name "
       "(Knot answers with one RRset, NSD with another). Matched only for QTYPE=ANY when rcode, flags, "
       "question, authority and OPT agree and each server's answer is a non-empty set of complete RRsets "
       "that exist at the query name in the zone file.")
def _any(q, a, b, diff, ctx, pair):
    if q.qtype != dns.rdatatype.ANY or set(diff) - {"answer", "additional"}:
        return False
    truth = ctx.rrsets_at(q.qname)
    if not truth:
        return False
    for n in (a, b):
        if not n["answer"]:
            return False
        for k in n["answer"]:
            if k not in truth:
                return False
    return True



@known("nsd-badvers-copies-cd",
       "NSD copies the CD bit into BADVERS responses only; Knot and Meridian clear it there as in every "
       "response. RFC 4035 section 3.1.6: \"The CD and AD bits are designed for use in communication "
       "between security-aware resolvers and security-aware recursive name servers. These bits are for "
       "the most part not relevant to query processing by security-aware authoritative name servers.\" "
       "Matched only for BADVERS responses to queries with CD=1 where the flags differ in CD alone.")
def _nsd_badvers_cd(q, a, b, diff, ctx, pair):
    if diff != ["flags"] or not q.cd or "nsd" not in (pair.a, pair.b):
        return False
    if a.get("rcode") != "BADVERS" or b.get("rcode") != "BADVERS":
        return False
    return set(a["flags"].split()) ^ set(b["flags"].split()) == {"CD"}


def _names(n, section):
    return {k[0] for k in n[section]}


def _chain_end(qname, answer):
    """Follow the CNAMEs of an answer section from qname: (final name, owners seen)."""
    cnames = {}
    for k in answer:
        if k[1] == "CNAME" and len(k[4]) == 1:
            rd = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.CNAME, next(iter(k[4])), 0,
                                     len(next(iter(k[4]))))
            cnames[k[0]] = rd.target.to_text().lower()
    cur, seen = qname.lower(), []
    while cur in cnames and cur not in seen:
        seen.append(cur)
        cur = cnames[cur]
    return cur, seen


@known("cname-chain-stops-at-zone-boundary",
       "RFC 1034 section 4.3.2 step 3a lets a server restart the lookup for a CNAME target in any zone "
       "it serves; Knot follows CNAME (and DNAME-synthesized CNAME) chains only inside the zone where "
       "the chain is, NSD continues into its other zones (and takes that zone's rcode and SOA). "
       "RFC 6604 section 3 allows both. Meridian follows chains within the zone (issue 2, item 3), "
       "like Knot. Matched only when one side's answer is a subset of the other's, NOERROR with an empty "
       "authority section, its chain ends at a name in a different served zone than the last CNAME "
       "owner, and everything the other response adds lies in served zones (authority: SOA or NS only).")
def _cross_zone(q, a, b, diff, ctx, pair):
    if set(diff) - {"answer", "authority", "additional", "rcode"}:
        return False
    for short, long_ in ((a, b), (b, a)):
        if not short["answer"] <= long_["answer"]:
            continue
        if short["rcode"] != "NOERROR" or short["authority"]:
            continue
        end, seen = _chain_end(q.qname, short["answer"])
        if not seen or end in _names(short, "answer"):
            continue
        zend, zlast = ctx.zone_of(end), ctx.zone_of(seen[-1])
        if zend is None or zend == zlast:
            continue
        extra = (long_["answer"] - short["answer"]) | long_["authority"] | long_["additional"]
        if any(ctx.zone_of(k[0]) is None for k in extra):
            continue
        if any(k[1] not in ("SOA", "NS") for k in long_["authority"]):
            continue
        return True
    return False


def _only_chain(n):
    return all(k[1] in ("CNAME", "DNAME") for k in n["answer"])


def _count(n, rtype):
    return sum(1 for k in n["answer"] if k[1] == rtype)


@known("knot-cname-chain-limit",
       "RFC 1034 sets no limit on the length of a CNAME chain a server follows, and RFC 1034 section "
       "3.6.2 leaves loop detection to the server. Knot stops after 5 CNAME records (its loop guard), "
       "NSD follows the 10-link chain to its end. Matched only when the Knot side's answer is exactly 5 "
       "CNAME records (plus a DNAME if one was used), it is a strict subset of the other answer, and "
       "the chain's next name is in the same zone.")
def _knot_chain_limit(q, a, b, diff, ctx, pair):
    if set(diff) - {"answer", "authority", "additional", "rcode"}:
        return False
    if "knot" not in (pair.a, pair.b):
        return False
    k, o = (a, b) if pair.a == "knot" else (b, a)
    if k["rcode"] != "NOERROR" or k["authority"] or not _only_chain(k) or _count(k, "CNAME") != 5:
        return False
    if not k["answer"] < o["answer"]:
        return False
    end, seen = _chain_end(q.qname, k["answer"])
    return len(seen) == 5 and ctx.zone_of(end) == ctx.zone_of(seen[-1])


@known("dname-applied-once",
       "A DNAME whose target lies below its own owner (dnloop DNAME x.dnloop) makes every synthesized "
       "name match the DNAME again; RFC 6672 section 3.1 only says such a chain must be stopped, not "
       "where. NSD and Meridian apply the DNAME once and answer DNAME + one synthesized CNAME; Knot keeps "
       "substituting until its chain limit. Matched only when the NSD or Meridian side's answer is exactly "
       "one DNAME and one CNAME whose target is below that same DNAME owner, and it is a subset of the other's.")
def _dname_once(q, a, b, diff, ctx, pair):
    if set(diff) - {"answer", "authority", "additional"}:
        return False
    for once, other, n, o in ((pair.a, pair.b, a, b), (pair.b, pair.a, b, a)):
        if once not in ("nsd", "meridian") or other != "knot":
            continue
        if n["rcode"] != "NOERROR" or n["authority"] or len(n["answer"]) != 2 or not n["answer"] <= o["answer"]:
            continue
        dn = [k for k in n["answer"] if k[1] == "DNAME"]
        if len(dn) != 1 or _count(n, "CNAME") != 1:
            continue
        end, seen = _chain_end(q.qname, n["answer"])
        if len(seen) == 1 and dns.name.from_text(end).is_subdomain(dns.name.from_text(dn[0][0])):
            return True
    return False


@known("nsd-refused-class-without-question",
       "NSD answers a query of class HS (or another class it serves no zone in) with REFUSED and an "
       "empty question section; RFC 1035 section 4.1.2 does not require the question in an error "
       "response. Matched only for REFUSED responses with QDCOUNT=0 from NSD to non-IN, non-CH queries.")
def _nsd_noq(q, a, b, diff, ctx, pair):
    if diff != ["question"] or "nsd" not in (pair.a, pair.b):
        return False
    n = a if pair.a == "nsd" else b
    return ABSOLUTE_KNOWN[("nsd", "question not echoed byte for byte")][2](q, n)


@known("nsd-minimal-responses-additional",
       "NSD runs with minimal-responses: yes (needed so that it does not add NS RRsets to every "
       "authority section) and then omits the optional additional-section addresses of MX, SRV, SVCB, "
       "NS targets; RFC 1034 section 4.3.2 step 6 and RFC 2181 section 5.4.1 make that additional "
       "data optional. Matched only when nothing but the additional section differs, NSD's additional "
       "section is a strict subset of the other's and every record NSD left out is an A or AAAA RRset.")
def _nsd_minimal(q, a, b, diff, ctx, pair):
    if diff != ["additional"]:
        return False
    if pair.a == "nsd":
        nsd_side, other = a, b
    elif pair.b == "nsd":
        nsd_side, other = b, a
    else:
        return False
    if not nsd_side["additional"] < other["additional"]:
        return False
    return all(k[1] in ("A", "AAAA") for k in other["additional"] - nsd_side["additional"])


@known("nsd-referral-glue-without-tc",
       "RFC 9471 section 3: when the in-domain glue of a referral does not fit, the server MUST set TC=1. "
       "Knot does; NSD 4.6 (older than RFC 9471) sends the referral without TC and with as much glue as fits. "
       "Meridian follows RFC 9471. Matched only for UDP referrals (no answer, NS in authority, AA=0) where "
       "the NSD side has TC=0, the other TC=1, and only the TC flag and the glue differ.")
def _nsd_rfc9471(q, a, b, diff, ctx, pair):
    if q.tcp or set(diff) - {"flags", "additional"} or "flags" not in diff:
        return False
    if pair.a == "nsd":
        nsd_side, other = a, b
    elif pair.b == "nsd":
        nsd_side, other = b, a
    else:
        return False
    nf, of = set(nsd_side["flags"].split()), set(other["flags"].split())
    if nf ^ of != {"TC"} or "TC" not in of or "AA" in of:
        return False
    if other["answer"] or not other["authority"] or any(k[1] != "NS" for k in other["authority"]):
        return False
    return True


@known("truncated-additional-content",
       "Both responses have TC=1, so a client discards them and retries over TCP (RFC 1035 section 4.2.1, "
       "RFC 2181 section 9); which glue is placed in a truncated referral is not specified (RFC 9471 "
       "section 3). Matched only when both have TC=1, only the additional section differs, and each side's "
       "additional RRsets exist in the zone data.")
def _tc_additional(q, a, b, diff, ctx, pair):
    if diff != ["additional"]:
        return False
    if "TC" not in a["flags"].split() or "TC" not in b["flags"].split():
        return False
    for n in (a, b):
        for k in n["additional"]:
            if k not in (ctx.rrsets_at(k[0]) or set()):
                return False
    return True


# ---------------------------------------------------------------- comparison

class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.same = 0
        self.known = collections.Counter()
        self.known_examples = collections.defaultdict(list)
        self.unexplained = collections.Counter()
        self.examples = collections.defaultdict(list)

    @property
    def label(self):
        return f"{self.a} vs {self.b}"


def compare_all(corpus, servers_list, ctx, show, verbose):
    pairs = [Pair(servers_list[i].name, servers_list[j].name)
             for i in range(len(servers_list)) for j in range(i + 1, len(servers_list))]
    absolute = collections.defaultdict(list)
    absolute_known = collections.defaultdict(list)
    problems = collections.defaultdict(list)  # query index -> what is wrong with its answers
    started = time.time()
    for q in corpus:
        norms = {}
        for s in servers_list:
            norms[s.name] = normalise(ask(s, q))
            for prob in absolute_problems(q, norms[s.name]):
                exc = ABSOLUTE_KNOWN.get((s.name, prob))
                if exc and exc[2](q, norms[s.name]):
                    absolute_known[exc[0]].append((s.name, q))
                else:
                    absolute[(s.name, prob)].append(q)
                    problems[q.idx].append(f"{s.name}: {prob}")
        for p in pairs:
            a, b = norms[p.a], norms[p.b]
            diff = differing(a, b)
            if not diff:
                p.same += 1
                continue
            cls = None
            if "timeout" not in diff and "unparseable" not in diff:
                for name, (_, fn) in KNOWN.items():
                    if fn(q, a, b, diff, ctx, p):
                        cls = name
                        break
            if cls:
                p.known[cls] += 1
                if len(p.known_examples[cls]) < (show if verbose else 2):
                    p.known_examples[cls].append((q, a, b, diff))
            else:
                key = "+".join(diff)
                p.unexplained[key] += 1
                problems[q.idx].append(f"{p.label}: unexplained difference in {key}")
                if len(p.examples[key]) < show:
                    p.examples[key].append((q, a, b, diff))
    elapsed = time.time() - started
    return pairs, absolute, absolute_known, elapsed, problems


def print_example(p, q, a, b, diff):
    print(f"    {q.describe()}")
    for f in diff:
        print(f"      {f}:")
        print(f"        {p.a:9}: {show_field(a, f)}")
        print(f"        {p.b:9}: {show_field(b, f)}")
        if f in ("answer", "authority", "additional"):
            print(f"        {p.a:9}  = {show_section(a, f)}")
            print(f"        {p.b:9}  = {show_section(b, f)}")


def report(corpus, pairs, absolute, absolute_known, elapsed, show):
    ntcp = sum(q.tcp for q in corpus)
    nv6 = sum(q.v6 for q in corpus)
    print(f"corpus: {len(corpus)} queries ({ntcp} over TCP, {nv6} over IPv6, "
          f"{len({(q.qname.lower(), q.qtype) for q in corpus})} distinct name/type pairs), {elapsed:.1f}s")
    print("edns variants: " + ", ".join(f"{k}={v}" for k, v in
                                       sorted(collections.Counter(q.edns for q in corpus).items())))
    failed = False
    for cls, items in sorted(absolute_known.items()):
        reason = next(v[1] for v in ABSOLUTE_KNOWN.values() if v[0] == cls)
        print(f"\nknown {cls}: {len(items)}  -- {reason}")
        for srv, q in items[:2]:
            print(f"    {srv}: {q.describe()}")
    for (srv, prob), qs in sorted(absolute.items()):
        failed = True
        print(f"\nFAIL {srv}: {prob}: {len(qs)} queries, e.g.")
        for q in qs[:show]:
            print(f"    {q.describe()}")
    for p in pairs:
        total_known = sum(p.known.values())
        total_bad = sum(p.unexplained.values())
        print(f"\n== {p.label}: {p.same} identical, {total_known} known differences, "
              f"{total_bad} unexplained")
        for cls, cnt in p.known.most_common():
            reason = KNOWN[cls][0]
            print(f"  known {cls}: {cnt}  -- {reason}")
            for ex in p.known_examples[cls]:
                print_example(p, *ex)
        for key, cnt in p.unexplained.most_common():
            failed = True
            print(f"  UNEXPLAINED [{key}]: {cnt}")
            for ex in p.examples[key]:
                print_example(p, *ex)
    print("\nRESULT: " + ("FAIL" if failed else "PASS"))
    return failed


def main():
    ap = suite.parser(__doc__.split("\n\n")[0])
    ap.add_argument("--peers-only", action="store_true", help="compare Knot with NSD only")
    ap.add_argument("--config", default=servers.FIXTURE_CONFIG, help="meridian config naming the zones")
    ap.add_argument("--queries", type=int, default=2400, help="minimum corpus size")
    ap.add_argument("--show", type=int, default=5, help="examples printed per difference class")
    ap.add_argument("--verbose", action="store_true", help="more examples of known differences")
    args = ap.parse_args()

    zones = servers.load_zones(args.config)
    corpus, owners, zobjs = make_corpus(zones, args.queries)
    chosen = suite.select("differential", [suite.Case(q.group, q.describe(), query=q) for q in corpus], args)
    corpus = [c["query"] for c in chosen]
    report_cases = suite.Report("differential")
    ctx = Ctx(owners, zobjs)
    running = []
    try:
        try:
            running.append(servers.start_knot(zones))
            running.append(servers.start_nsd(zones))
            if not args.peers_only:
                running.append(servers.start_meridian(args.meridian or servers.default_meridian(), zones))
        except Exception as e:  # a missing tool, a server that does not start: every case fails, saying why
            for c in chosen:
                report_cases.record(c, [str(e)])
            return report_cases.summary() and 2
        print("servers: " + ", ".join(f"{s.name} on 127.0.0.1/::1 port {s.port}" for s in running))
        pairs, absolute, absolute_known, elapsed, problems = compare_all(corpus, running, ctx, args.show, args.verbose)
        exited = []
        for s in running:
            if not s.alive():
                print(f"FAIL: {s.name} exited during the run (status {s.proc.returncode})")
                print(s.log_text()[-4000:])
                absolute[(s.name, "server exited")].append(corpus[0])
                exited.append(f"{s.name} exited during the run (status {s.proc.returncode})")
        report(corpus, pairs, absolute, absolute_known, elapsed, args.show)
        print()
        for c in chosen:
            report_cases.record(c, problems.get(c["query"].idx, []))
        if exited:
            report_cases.record("differential/afterwards", exited)
    finally:
        for s in running:
            s.stop()
    return report_cases.summary()


if __name__ == "__main__":
    sys.exit(main())
