#!/usr/bin/env python3
"""DNSSEC benchmark: signed answers (DO=1) of Meridian next to knotd and
PowerDNS, static, NXDOMAIN and geo+ECS, in one interleaved run.

  flock /tmp/meridian-build.lock /usr/bin/python3 Benchmarks/dnssec.py \\
      --meridian /work/bench-tree/.build/release/meridian      # ~8.5 minutes
  Benchmarks/dnssec.py --rounds 5 --duration 8 --servers meridian,knotd

(/usr/bin/python3: Debian's, which has dnspython and maxminddb.)

What it does:
 1. generates run.py's zone bench.example. (gen-zone.py, ~10,000 names) and
    its query file (gen-queries.py: 80% A/AAAA, 10% NXDOMAIN, 10% other), a
    file of 10,000 random names that do not exist under bench.example. (A),
    and routing.py's geo query files for geo.gslb.example.: one -B file of
    100,000 A queries each with its own EDNS Client Subnet (subnets drawn
    from GeoLite2, cached in Benchmarks/out/routing-cache/), with DO=0 and
    a copy with DO=1 (the DO bit, 0x8000, in the OPT record's TTL field);
 2. starts, each once, on its own free 127.0.0.1 port with a config in a
    temp dir, 2 workers each (as run.py and routing.py):
      static + nxdomain (zone bench.example.):
        meridian  signed online: `dnssec: { keys: [a CSK from meridian keygen,
                  ECDSA P-256], validity: 14d }`, compact denial (RFC 9824)
        knotd     automatic signing: dnssec-signing: on, a policy with
                  algorithm ecdsap256sha256, single-type-signing (a CSK),
                  NSEC (nsec3: off), rrsig-lifetime 14d, signing-threads 2
        pdns      bind backend + bind-dnssec-db (pdnsutil create-bind-db),
                  pdnsutil secure-zone (its defaults: one ECDSA P-256 key,
                  NSEC), live-signed, default caches
      geo (zone gslb.example., routing.py's data centers):
        meridian  routing.py's RoutedMeridian (geo-nearest service) with
                  the same `dnssec:` on the zone; answers signed when first
                  made, cached per worker
        knotd     mod-geoip (mode geodb, GeoLite2, key continent/code,
                  ttl 30; `dnssec: off`) + mod-onlinesign (policy as above)
                  on the zone: every geo answer signed per query, Knot's
                  dynamic case. In Knot 3.2 ECS is read only with the
                  server's `edns-client-subnet: on` (mod-geoip has no such
                  option of its own), so that is set;
        knotd-pre the same mod-geoip with the zone's automatic signing
                  (dnssec-signing: on) instead: mod-geoip then signs each
                  of its answers once, when it loads (the CSK is made with
                  keymgr before the start, as the module loads before the
                  zone's first signing would make it); answers are
                  signatures made in advance, no per-query signing
        pdns      routing.py's PowerDNS (LUA pickclosest) with the zone
                  secured by pdnsutil secure-zone (signed live)
 3. sanity check (dnspython): for each server and scenario a few queries;
    with DO=1 each answer RRset must come with its RRSIG and, for names that
    do not exist, an NSEC with its RRSIG (rcode NXDOMAIN, or NOERROR for
    compact denial); the RRSIGs are verified against the zone's DNSKEY
    (dns.dnssec.validate); with DO=0 no RRSIG. A server that fails is not
    measured in that scenario (it is reported as refused);
 4. unmeasured warm-up runs per (scenario, server) -- with DO=1 repeated
    until one of meridian's makes fewer than 0.1% of its signature-cache
    lookups as new signatures (cache warm, as the bar is judged), every
    other server of the scenario getting as many -- then INTERLEAVED
    measured rounds over every (scenario, DO, server): static DO=0, static
    DO=0 with EDNS (static-edns: dnsperf -e, so the OPT record's own cost
    is told apart), static DO=1, nxdomain DO=1, geo DO=0, geo DO=1, round
    after round. Each run is
    one dnsperf invocation (run.py's settings: -c 8 -q 200 -T 1 -t 1;
    `-D` for DO=1 on text query files; -B for geo) of --duration seconds;
    utime/stime of the server's process tree from /proc around each run,
    its exact run time (schedstat) and, unless --no-split, the user share
    of perf cpu-clock samples of the server (routing.py's measured_run:
    /proc's tick-sampled user/system split swings between short runs),
    each divided by the queries dnsperf saw completed (whatever their rcode);
 5. Meridian's signature cache: meridian_signature_cache_lookups_total
    {result="hit"|"miss"} from GET /metrics on its admin listener, read
    before and after every measured meridian run; hit rate = hits / (hits +
    misses) summed over the measured runs ("n/a" when the metric is absent);
 6. prints medians per scenario and server as a markdown table, and the
    ratios that matter: meridian DO=1 / meridian DO=0 user CPU per query
    (static, geo; bar <= 1.5), meridian DO=1 / knotd DO=1 and / pdns DO=1
    (bar < 1), from /proc user and from the perf split, medians and paired
    by round; writes everything raw to Benchmarks/out/dnssec-<timestamp>/
    (gitignored).

Every packet stays on 127.0.0.1; answer addresses are documentation
prefixes that are never contacted.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import run as R  # noqa: E402
import routing as G  # noqa: E402

ORIGIN = "bench.example."
VALIDITY = "14d"
GEODB_DEFAULT = os.path.join(B.REPO, "Tests", ".cache", "geolite2", "GeoLite2-City.mmdb")
# Knot's mod-geoip answers by continent (the geodb key continent/code): which
# data center each continent gets. Geo accuracy is routing.py's business.
KNOT_CONTINENT_DC = {"NA": "iad", "SA": "gru", "EU": "fra", "AF": "fra", "AS": "nrt", "OC": "nrt", "AN": "gru"}

# The runs of one round, in order: (scenario, DO, query kind)
# static-edns: the static queries with EDNS (dnsperf -e) and DO=0, to tell the cost of EDNS from
# that of the signatures (plain DO=0 queries carry no OPT record; DO=1 ones must).
PLAN = [("static", 0), ("static-edns", 0), ("static", 1), ("nxdomain", 1), ("geo", 0), ("geo", 1)]


# --------------------------------------------------------------------------
# key material and config fragments

# Cache-warm measurement (see the warm-up in main): a warm-up run that signs fewer than this share
# of its lookups anew counts as warm; at most this many warm-up runs per scenario.
WARM_MISS_SHARE = 0.001
WARM_MAX_RUNS = 8

def meridian_keygen(origin, keydir):
    """A CSK (ECDSA P-256) made by `meridian keygen`; returns its path without .key/.private."""
    os.makedirs(keydir, exist_ok=True)
    r = subprocess.run([B.Meridian.binary, "keygen", origin, "--directory", keydir],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("meridian keygen failed: %s%s" % (r.stdout, r.stderr))
    keys = sorted(glob.glob(os.path.join(keydir, "K%s+013+*.key" % origin)))
    if not keys:
        raise RuntimeError("meridian keygen wrote no K%s+013+*.key in %s" % (origin, keydir))
    return keys[-1][:-len(".key")]


def meridian_sign_config(path, zonefile, key, admin_port=None):
    """Adds `dnssec:` to the zone entry whose file is zonefile, and an admin listener."""
    with open(path) as f:
        text = f.read()
    line = "    file: %s\n" % zonefile
    if line not in text:
        raise RuntimeError("no zone entry for %s in %s" % (zonefile, path))
    text = text.replace(line, line + "    dnssec:\n      keys: [%s]\n      validity: %s\n" % (key, VALIDITY), 1)
    if admin_port:
        text = text.rstrip("\n") + "\nadmin:\n  listen: \"127.0.0.1:%d\"\n" % admin_port
    with open(path, "w") as f:
        f.write(text)


KNOT_POLICY = """policy:
  - id: bench
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
    rrsig-lifetime: {validity}
    signing-threads: 2
"""


def knot_add(conf, before_zone="", zone_lines=""):
    """Inserts sections before knot.conf's zone: section and lines into its (only) zone entry."""
    with open(conf) as f:
        text = f.read()
    text = text.replace("\nzone:\n", "\n" + before_zone + "zone:\n", 1)
    text = text.rstrip("\n") + "\n" + zone_lines
    with open(conf, "w") as f:
        f.write(text)


def pdns_secure(server, zone):
    """bind-dnssec-db for the bind backend, then pdnsutil secure-zone (its default algorithm)."""
    d = server.dir
    db = os.path.join(d, "bind-dnssec.db")
    with open(os.path.join(d, "pdns.conf"), "a") as f:
        f.write("bind-dnssec-db=%s\n" % db)
    if os.path.exists(db):
        os.unlink(db)
    out = []
    for cmd in (["create-bind-db", db], ["secure-zone", zone], ["show-zone", zone]):
        r = subprocess.run(["pdnsutil", "--config-dir=" + d] + cmd, capture_output=True, text=True, timeout=120)
        out.append("$ pdnsutil %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        if r.returncode != 0:
            raise RuntimeError("pdnsutil %s failed:\n%s" % (" ".join(cmd), out[-1]))
    with open(os.path.join(d, "pdnsutil.txt"), "w") as f:
        f.write("\n".join(out))
    server.keyinfo = out[-1]


# --------------------------------------------------------------------------
# servers

class Signed:
    """A Meridian server class's config with its zone signed online by a key made by `meridian
    keygen`, and an admin listener on admin_port (for the signature cache's metric)."""

    def __init__(self, *args, admin_port=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin_port = admin_port

    def configure(self):
        super().configure()
        self.key = meridian_keygen(self.origin, os.path.join(self.dir, "keys"))
        meridian_sign_config(os.path.join(self.dir, "meridian.yaml"), self.zone, self.key, self.admin_port)


class SignedMeridian(Signed, B.Meridian):
    pass


class SignedRoutedMeridian(Signed, G.RoutedMeridian):
    pass


class SignedKnot(B.Knot):
    """knotd with automatic signing (the zone signed at load)."""

    def configure(self):
        super().configure()
        knot_add(os.path.join(self.dir, "knot.conf"), KNOT_POLICY.format(validity=VALIDITY),
                 "    dnssec-signing: on\n    dnssec-policy: bench\n")


class GeoKnot(B.Knot):
    """knotd: gslb.example. with mod-geoip (geodb, GeoLite2, continent/code) for geo.gslb.example.
    and mod-onlinesign (online=True) or automatic signing, which makes mod-geoip sign its
    answers when it loads (online=False)."""

    def __init__(self, workdir, port, geodb, workers=2, online=True):
        self.geodb = geodb
        self.online = online
        super().__init__(workdir, port, os.path.join(workdir, "knot-gslb.zone"), G.ORIGIN, workers)

    def configure(self):
        self.zone = os.path.join(self.dir, "gslb.example.zone")
        dc = {n: a for n, _, _, a in G.DATACENTERS}
        with open(self.zone, "w") as f:
            # geo also in the zone (the module's answer replaces it) so the name exists for
            # the signer's NSEC chain.
            f.write("$ORIGIN %s\n$TTL 3600\n" % G.ORIGIN + G.SOA.format(o=G.ORIGIN) + "geo 30 IN A %s\n" % dc["iad"])
        geoconf = os.path.join(self.dir, "geo.conf")
        with open(geoconf, "w") as f:
            f.write("geo.%s:\n" % G.ORIGIN)
            for cont, name in KNOT_CONTINENT_DC.items():
                f.write("  - geo: \"%s\"\n    A: %s\n" % (cont, dc[name]))
        super().configure()
        mods = """mod-geoip:
  - id: geo
    config-file: "{geoconf}"
    ttl: 30
    mode: geodb
    geodb-file: "{db}"
    geodb-key: [continent/code]
""".format(geoconf=geoconf, db=self.geodb)
        if self.online:
            # dnssec: off: mod-geoip answers unsigned and mod-onlinesign signs the answer (else
            # mod-geoip follows the zone's signing and fails to load without keys).
            mods += "    dnssec: off\nmod-onlinesign:\n  - id: os\n    policy: bench\n"
            zl = "    module: [mod-geoip/geo, mod-onlinesign/os]\n"
        else:
            zl = "    dnssec-signing: on\n    dnssec-policy: bench\n    module: mod-geoip/geo\n"
        conf = os.path.join(self.dir, "knot.conf")
        knot_add(conf, KNOT_POLICY.format(validity=VALIDITY) + mods, zl)
        # Knot 3.2 parses EDNS Client Subnet only with the server's edns-client-subnet: on;
        # without it mod-geoip locates the source address (127.0.0.1: no answer from the module).
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("    background-workers: 1\n",
                                 "    background-workers: 1\n    edns-client-subnet: on\n", 1))
        if not self.online:
            # mod-geoip signs its answers when it loads, which is before the zone's first signing
            # would make the keys ("failed to load DNSSEC keys"): make the CSK first.
            r = subprocess.run(["keymgr", "-c", conf, G.ORIGIN, "generate", "algorithm=ecdsap256sha256",
                                "ksk=yes", "zsk=yes"], capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError("keymgr generate failed: %s%s" % (r.stdout, r.stderr))


class KnotPresignedGeo(GeoKnot):
    name = "knotd-pre"

    def __init__(self, workdir, port, geodb, workers=2):
        super().__init__(workdir, port, geodb, workers, online=False)



class SignedPdns(G.PowerDNS):
    """routing.py's PowerDNS (bind backend) serving bench.example., secured with pdnsutil."""

    def __init__(self, workdir, port, zone, geodb, workers=2):
        super().__init__(workdir, port, geodb, workers)
        self.static_zone = os.path.abspath(zone)

    def configure(self):
        super().configure()
        self.zone = self.static_zone
        self.origin = ORIGIN
        with open(os.path.join(self.dir, "named.conf"), "w") as f:
            f.write('zone "%s" { type master; file "%s"; };\n' % (ORIGIN, self.zone))
        pdns_secure(self, ORIGIN)


class SignedGeoPdns(G.PowerDNS):
    def configure(self):
        super().configure()
        pdns_secure(self, G.ORIGIN)


# --------------------------------------------------------------------------
# query files

def write_nx_queries(path, n, seed=20261202):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    names = set()
    while len(names) < n:
        names.add("nx-" + "".join(rng.choice(alphabet) for _ in range(10)) + "." + ORIGIN)
    with open(path, "w") as f:
        for name in sorted(names, key=lambda _: rng.random()):
            f.write("%s A\n" % name)
    return path


def with_do(msg, opt_len):
    """The message routing.query() made, with DO=1 in its OPT record (the last record)."""
    m = bytearray(msg)
    ttl = len(m) - opt_len - 2 - 4  # OPT: ... TTL(4) RDLEN(2) RDATA(opt_len)
    assert m[ttl - 4:ttl - 2] == b"\x00\x29", "not an OPT record"
    m[ttl + 2] |= 0x80
    return bytes(m)


def write_geo_queries(path, qname, subnets, do):
    with open(path, "wb") as f:
        for a, p, *_ in subnets:
            m = G.query(qname, a, p)
            if do:
                m = with_do(m, len(G.ecs_option(a, p)))
            f.write(struct.pack(">H", len(m)) + m)


# --------------------------------------------------------------------------
# sanity check with dnspython

def ask(port, qname, qtype, do, ecs=None):
    import dns.edns
    import dns.message
    import dns.query
    opts = [dns.edns.ECSOption(ecs[0], ecs[1])] if ecs else []
    if do or ecs:
        q = dns.message.make_query(qname, qtype, use_edns=0, payload=1232, want_dnssec=bool(do), options=opts)
    else:
        q = dns.message.make_query(qname, qtype)
    q.flags &= ~0x0100  # no RD
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=2)


def dnskeys(port, origin):
    import dns.name
    import dns.rdatatype
    r = ask(port, origin, "DNSKEY", 1)
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.DNSKEY:
            return {dns.name.from_text(origin): rrset}
    return None


def check_signed(resp, keys, sections, problems, what):
    """Every RRset (other than RRSIG, OPT) of the named sections has a valid RRSIG."""
    import dns.dnssec
    import dns.rdatatype
    n = 0
    for sec in sections:
        rrsets = getattr(resp, sec)
        sigs = {(r.name, r.covers): r for r in rrsets if r.rdtype == dns.rdatatype.RRSIG}
        for rrset in rrsets:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                continue
            if sec == "authority" and rrset.rdtype == dns.rdatatype.NS:
                continue  # a referral's NS is not signed
            sig = sigs.get((rrset.name, rrset.rdtype))
            if sig is None:
                problems.append("%s: %s %s in %s has no RRSIG" % (what, rrset.name, dns.rdatatype.to_text(rrset.rdtype), sec))
                continue
            try:
                dns.dnssec.validate(rrset, sig, keys)
                n += 1
            except Exception as e:  # noqa: BLE001
                problems.append("%s: RRSIG of %s %s does not validate: %s" % (
                    what, rrset.name, dns.rdatatype.to_text(rrset.rdtype), e))
    return n


def sanity(server, scenario, sample, subnets, log):
    """[] when DO=1 answers are signed (and DO=0 answers are not); else the problems."""
    import dns.rcode
    import dns.rdatatype
    problems = []
    seen = set()
    origin = G.ORIGIN if scenario == "geo" else ORIGIN
    try:
        keys = dnskeys(server.port, origin)
    except Exception as e:  # noqa: BLE001
        return ["%s: DNSKEY query failed: %s" % (server.name, e)]
    if not keys:
        return ["%s: no DNSKEY at %s" % (server.name, origin)]
    for qname, qtype, ecs in sample:
        what = "%s %s %s%s" % (server.name, qname, qtype, " ECS %s/%d" % ecs if ecs else "")
        try:
            r0 = ask(server.port, qname, qtype, 0, ecs)
            r1 = ask(server.port, qname, qtype, 1, ecs)
        except Exception as e:  # noqa: BLE001
            problems.append("%s: %s" % (what, e))
            continue
        if any(rr.rdtype == dns.rdatatype.RRSIG for sec in (r0.answer, r0.authority) for rr in sec):
            problems.append("%s: RRSIG with DO=0" % what)
        rc = dns.rcode.to_text(r1.rcode())
        if scenario == "nxdomain":
            nsec = [rr for rr in r1.authority if rr.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)]
            if rc not in ("NXDOMAIN", "NOERROR") or r1.answer:
                problems.append("%s: DO=1 rcode %s, answer %s" % (what, rc, r1.answer))
            if not nsec:
                problems.append("%s: DO=1 no NSEC in authority" % what)
            nsig = check_signed(r1, keys, ("authority",), problems, what)
            log.append("%s: DO=0 %s, DO=1 %s, %d NSEC, %d validated RRSIG(s) in authority" % (
                what, dns.rcode.to_text(r0.rcode()), rc, len(nsec), nsig))
        else:
            types = [rr.rdtype for rr in r1.answer]
            want = dns.rdatatype.from_text(qtype)
            if rc != "NOERROR" or want not in types:
                problems.append("%s: DO=1 rcode %s, answer %s" % (what, rc, [str(x) for x in r1.answer]))
            nsig = check_signed(r1, keys, ("answer",), problems, what)
            a = [str(rd) for rr in r1.answer if rr.rdtype == want for rd in rr]
            seen.update(a)
            log.append("%s: DO=0 %s, DO=1 %s %s, %d validated RRSIG(s) in answer" % (
                what, dns.rcode.to_text(r0.rcode()), rc, ",".join(a), nsig))
    if scenario == "geo" and len(seen) < 2:
        problems.append("%s: the same geo answer for every subnet (%s): ECS not used" % (server.name, seen))
    return problems


# --------------------------------------------------------------------------
# metrics

def cache_counters(port):
    """{'hit': n, 'miss': n} summed over every series of meridian_signature_cache_lookups_total,
    or None when the metric is absent (or the admin listener does not answer)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=3) as resp:
            text = resp.read().decode("utf-8", "replace")
    except OSError:
        return None
    res, found = {"hit": 0.0, "miss": 0.0}, False
    for line in text.splitlines():
        m = re.match(r'meridian_signature_cache_lookups_total\{([^}]*)\}\s+([0-9.eE+-]+)', line)
        if not m:
            continue
        lab = re.search(r'result="(\w+)"', m.group(1))
        if lab and lab.group(1) in res:
            res[lab.group(1)] += float(m.group(2))
            found = True
    return res if found else None


# --------------------------------------------------------------------------
# summary

def summarize(runs, names, cache):
    medians = {}
    keys = []
    for sc, do in PLAN:
        for name in names:
            rs = [r for r in runs if r["scenario"] == sc and r["do"] == do and r["server"] == name]
            if not rs:
                continue
            keys.append((sc, do, name))
            medians["%s/do%d/%s" % (sc, do, name)] = {
                "scenario": sc, "do": do, "server": name,
                "qps": R.med([r["qps"] for r in rs]),
                "lat_us": R.med([r["lat_avg"] * 1e6 if r["lat_avg"] is not None else None for r in rs]),
                "user_us_per_q": R.med([r["user_us_per_q"] for r in rs]),
                "sys_us_per_q": R.med([r["sys_us_per_q"] for r in rs]),
                "cpu_us_per_q": R.med([r["cpu_us_per_q"] for r in rs]),
                "exact_cpu_us_per_q": R.med([r.get("exact_cpu_us_per_q") for r in rs]),
                "perf_user_us_per_q": R.med([r.get("perf_user_us_per_q") for r in rs]),
                "lost_pct": R.med([100.0 * r["lost"] / max(1, r["sent"]) for r in rs]),
                "other_cores": R.med([r["other_cores"] for r in rs]),
                "rcodes": rs[-1]["rcodes"], "runs": len(rs)}
    lines = ["| scenario | DO | server | QPS | latency µs | user µs/q (/proc) | sys µs/q (/proc) | CPU µs/q (exact) | user µs/q (perf split) | lost % | other cores | runs | rcodes (last run) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for sc, do, name in keys:
        m = medians["%s/do%d/%s" % (sc, do, name)]
        rc = " ".join("%s %.0f%%" % (k, 100.0 * v / max(1, sum(m["rcodes"].values()))) for k, v in m["rcodes"].items())
        lines.append("| %s | %d | %s | %.0f | %.0f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %d | %s |" % (
            sc, do, name, m["qps"], m["lat_us"], m["user_us_per_q"], m["sys_us_per_q"], m["exact_cpu_us_per_q"],
            m["perf_user_us_per_q"], m["lost_pct"], m["other_cores"], m["runs"], rc))
    lines.append("")
    lines.append("(medians over interleaved rounds, per query dnsperf saw completed, whatever its rcode, of the "
                 "server's process tree: /proc = utime/stime of /proc/PID/stat (tick-sampled); exact = "
                 "schedstat run time; perf split = exact x the user share of perf cpu-clock samples, as "
                 "routing.py; 'other' = cores busy with other work)")

    def get(sc, do, name, k="user_us_per_q"):
        m = medians.get("%s/do%d/%s" % (sc, do, name))
        return m[k] if m else None

    def paired(sa, sb, k):
        ra = {r["round"]: r for r in runs if (r["scenario"], r["do"], r["server"]) == sa}
        rb = {r["round"]: r for r in runs if (r["scenario"], r["do"], r["server"]) == sb}
        return R.med([ra[x][k] / rb[x][k] for x in sorted(set(ra) & set(rb))
                      if rb[x].get(k) and ra[x].get(k) is not None])

    ratios = {}
    lines += ["", "| ratio of user CPU per query | /proc user: medians (paired) | perf-split user: medians (paired) "
              "| exact CPU: medians | bar | met (/proc, perf) |", "|---|---:|---:|---:|---|---|"]

    def fmt(v):
        return "n/a" if v is None or v != v else "%.3f" % v

    def add(key, label, sa, sb, bar, ok):
        res = {}
        for k in ("user_us_per_q", "perf_user_us_per_q", "exact_cpu_us_per_q"):
            a, b = get(*sa, k=k), get(*sb, k=k)
            res[k] = a / b if a is not None and b and b == b and a == a else None
            res[k + "_paired"] = paired(sa, sb, k)
        ratios[key] = res
        met = ", ".join("n/a" if res[k] is None else ("yes" if ok(res[k]) else "NO")
                        for k in ("user_us_per_q", "perf_user_us_per_q"))
        lines.append("| %s | %s (%s) | %s (%s) | %s | %s | %s |" % (
            label, fmt(res["user_us_per_q"]), fmt(res["user_us_per_q_paired"]), fmt(res["perf_user_us_per_q"]),
            fmt(res["perf_user_us_per_q_paired"]), fmt(res["exact_cpu_us_per_q"]), bar, met))

    for sc in ("static", "geo"):
        if get(sc, 1, "meridian") is not None:
            add("%s_do1_vs_do0" % sc, "%s: meridian DO=1 / meridian DO=0" % sc, (sc, 1, "meridian"),
                (sc, 0, "meridian"), "<= 1.5", lambda v: v <= 1.5)
    if get("static", 1, "meridian") is not None and get("static-edns", 0, "meridian") is not None:
        add("static_do1_vs_edns_do0", "static: meridian DO=1 / meridian DO=0 with EDNS (-e)", ("static", 1, "meridian"),
            ("static-edns", 0, "meridian"), "(informational)", lambda v: v <= 1.5)
    for sc in ("static", "nxdomain", "geo"):
        for peer in [n for n in names if n != "meridian"]:
            if get(sc, 1, "meridian") is not None and get(sc, 1, peer) is not None:
                add("%s_do1_vs_%s" % (sc, peer), "%s: meridian DO=1 / %s DO=1" % (sc, peer), (sc, 1, "meridian"),
                    (sc, 1, peer), "< 1", lambda v: v < 1.0)
    lines += ["", "| meridian signature cache (measured runs) | hits | misses | hit rate |", "|---|---:|---:|---:|"]
    for sc, do in PLAN:
        c = cache.get("%s/do%d" % (sc, do))
        if c is None:
            lines.append("| %s DO=%d | n/a | n/a | n/a |" % (sc, do))
        else:
            tot = c["hit"] + c["miss"]
            lines.append("| %s DO=%d | %.0f | %.0f | %s |" % (
                sc, do, c["hit"], c["miss"], "%.4f" % (c["hit"] / tot) if tot else "n/a (no lookups)"))
    return "\n".join(lines), medians, ratios


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="meridian,knotd,knotd-pre,pdns", help="comma-separated, interleaving order "
                    "(meridian, knotd, pdns; knotd-pre adds knotd with mod-geoip's signatures made at load, geo only)")
    ap.add_argument("--meridian", default=B.DEFAULT_MERIDIAN, help="meridian binary")
    ap.add_argument("--geodb", default=GEODB_DEFAULT, help="GeoLite2-City.mmdb")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured warm-up per run kind (default 2)")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c (default 8)")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T (default 1)")
    ap.add_argument("--qps", type=int, default=0, help="dnsperf -Q (default 0 = open loop)")
    ap.add_argument("--workers", type=int, default=2, help="workers per server (default 2)")
    ap.add_argument("--names", type=int, default=10000, help="static zone size in names (default 10000)")
    ap.add_argument("--queries", type=int, default=100000, help="static queries and geo subnets (default 100000)")
    ap.add_argument("--nx-names", type=int, default=10000, help="names in the NXDOMAIN query file (default 10000)")
    ap.add_argument("--scenarios", default="static,nxdomain,geo", help="subset of static,nxdomain,geo")
    ap.add_argument("--pause", type=float, default=1.0, help="idle seconds between runs (default 1)")
    ap.add_argument("--out", default=os.path.join(B.HERE, "out"), help="output root (default Benchmarks/out)")
    ap.add_argument("--ignore-sanity", action="store_true", help="measure servers whose answers are not signed")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temp dir with configs")
    ap.add_argument("--no-split", dest="split", action="store_false",
                    help="no perf cpu-clock sampling of the server during the runs (user/kernel split from /proc only)")
    args = ap.parse_args()
    B.install_signal_handlers()
    B.Meridian.binary = os.path.abspath(args.meridian)
    wanted = [n.strip() for n in args.servers.split(",") if n.strip()]
    scen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    plan = [(sc, do) for sc, do in PLAN if sc in scen or (sc == "static-edns" and "static" in scen)]

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, "dnssec-" + stamp)
    os.makedirs(outdir, exist_ok=True)
    zone, qstatic, sample_path = R.generate_inputs(outdir, args.names, args.queries)
    qnx = write_nx_queries(os.path.join(outdir, "queries-nx.txt"), args.nx_names)
    geodb = os.path.abspath(args.geodb)
    subnets = []
    qgeo = {}
    if "geo" in scen:
        subnets, subnet_file = G.load_subnets(geodb, args.queries, os.path.join(args.out, "routing-cache"))
        for do in (0, 1):
            qgeo[do] = os.path.join(outdir, "queries-geo-do%d.bin" % do)
            write_geo_queries(qgeo[do], G.SCENARIOS["geo"], subnets, do)

    # sanity samples: (qname, qtype, ecs)
    static_sample = []
    with open(sample_path) as f:
        for line in f:
            p = line.split()
            if len(p) == 6 and p[0] in ("a", "aaaa", "mx", "txt", "wildcard") and \
                    sum(1 for s in static_sample if s[3] == p[0]) < 3:
                static_sample.append((p[1], p[2], None, p[0]))
    static_sample = [s[:3] for s in static_sample]
    nx_sample = []
    with open(qnx) as f:
        for line in f:
            nx_sample.append((line.split()[0], "A", None))
            if len(nx_sample) == 5:
                break
    geo_sample = [(G.SCENARIOS["geo"], "A", (s[0], s[1])) for s in subnets[:4]] + \
                 [(G.SCENARIOS["geo"], "A", (s[0], s[1])) for s in subnets if ":" in s[0]][:2]

    work = B.Workdir(keep=args.keep_temp)
    servers = {}  # group -> [server]
    used = set()
    runs, cache, refused, sanity_log, warmups = [], {}, {}, [], {}

    def port():
        p = B.free_port(used)
        used.add(p)
        return p

    all_servers = []
    try:
        for group in ("static", "geo"):
            if group == "static" and not ({"static", "nxdomain"} & set(scen)):
                continue
            if group == "geo" and "geo" not in scen:
                continue
            gdir = os.path.join(work.path, group)
            os.makedirs(gdir, exist_ok=True)
            servers[group] = []
            for name in wanted:
                if group == "static":
                    s = {"meridian": lambda: SignedMeridian(gdir, port(), zone, ORIGIN, args.workers, admin_port=port()),
                         "knotd": lambda: SignedKnot(gdir, port(), zone, ORIGIN, args.workers),
                         "pdns": lambda: SignedPdns(gdir, port(), zone, geodb, args.workers)}.get(name)
                else:
                    s = {"meridian": lambda: SignedRoutedMeridian(gdir, port(), geodb, args.workers, admin_port=port()),
                         "knotd": lambda: GeoKnot(gdir, port(), geodb, args.workers),
                         "knotd-pre": lambda: KnotPresignedGeo(gdir, port(), geodb, args.workers),
                         "pdns": lambda: SignedGeoPdns(gdir, port(), geodb, args.workers)}.get(name)
                if s is None:
                    continue
                s = s()
                if not s.available():
                    B.log("dnssec: skipping %s: %s not found" % (name, s.command()[0]))
                    continue
                try:
                    s.start()
                except Exception as e:  # noqa: BLE001
                    B.log("dnssec: %s (%s) could not be configured: %s" % (name, group, e))
                    refused.setdefault(group, {})[name] = ["configure/start failed: %s" % e]
                    continue
                servers[group].append(s)
                all_servers.append(s)
        for group, lst in servers.items():
            for s in list(lst):
                try:
                    t = s.wait_ready(120)
                    B.log("dnssec: %-6s %-9s pid %d on 127.0.0.1:%d, answering after %.2fs" % (
                        group, s.name, s.proc.pid, s.port, t))
                except RuntimeError as e:
                    B.log("dnssec: %s (%s) not ready: %s" % (s.name, group, e))
                    refused.setdefault(group, {})[s.name] = ["not ready: %s" % str(e)[:500]]
                    lst.remove(s)

        # sanity: per scenario and server
        measured = {}  # scenario -> [server]
        for sc in scen:
            group = "geo" if sc == "geo" else "static"
            sample = {"static": static_sample, "nxdomain": nx_sample, "geo": geo_sample}[sc]
            measured[sc] = []
            for s in servers.get(group, []):
                log = []
                problems = sanity(s, sc, sample, subnets, log)
                sanity_log += ["[%s] %s" % (sc, line) for line in log]
                sanity_log += ["[%s] FAIL %s" % (sc, p) for p in problems]
                if problems:
                    B.log("sanity: %s %s: %d problem(s), first: %s" % (sc, s.name, len(problems), problems[0]))
                    refused.setdefault(sc, {})[s.name] = problems
                    if not args.ignore_sanity:
                        continue
                else:
                    B.log("sanity: %s %s: %d DO=1 answers signed (RRSIGs validated against the DNSKEY)%s" % (
                        sc, s.name, len(sample), ", NSEC present" if sc == "nxdomain" else ""))
                measured[sc].append(s)
        measured["static-edns"] = measured.get("static", [])
        with open(os.path.join(outdir, "sanity.txt"), "w") as f:
            f.write("\n".join(sanity_log) + "\n")

        def qfile(sc, do):
            if sc == "geo":
                return qgeo[do], True, ()
            if sc == "static-edns":
                return qstatic, False, ("-e",)
            return (qnx if sc == "nxdomain" else qstatic), False, (("-D",) if do else ())

        items = [(sc, do, s) for sc, do in plan for s in measured.get(sc, [])]
        if args.warmup:
            # The bar is judged cache warm: with DO=1, meridian's warm-up is repeated until one run
            # makes fewer than WARM_MISS_SHARE of its lookups as new signatures (each worker thread
            # signs each distinct answer once), at most WARM_MAX_RUNS times; every other server of
            # the scenario then gets as many warm-up runs, so their own caches are as warm.
            for sc, do in plan:
                group = measured.get(sc, [])
                order = sorted(group, key=lambda s: 0 if getattr(s, "admin_port", None) else 1)
                runs_needed = 1
                for s in order:
                    q, binary, extra = qfile(sc, do)
                    admin = getattr(s, "admin_port", None) if do else None
                    n = 0
                    while True:
                        c0 = cache_counters(admin) if admin else None
                        R.dnsperf(s, args, q, args.warmup, os.path.join(outdir, "warmup-%s-do%d-%s-%d.txt" % (sc, do, s.name, n + 1)),
                                  binary=binary, extra=extra)
                        n += 1
                        c1 = cache_counters(admin) if admin else None
                        if c0 is not None and c1 is not None:
                            lookups = (c1["hit"] - c0["hit"]) + (c1["miss"] - c0["miss"])
                            share = (c1["miss"] - c0["miss"]) / lookups if lookups else 0.0
                            B.log("warm-up %s DO=%d %s run %d: %.0f lookups, %.3f%% new signatures" % (sc, do, s.name, n, lookups, 100 * share))
                            if share >= WARM_MISS_SHARE and n < WARM_MAX_RUNS:
                                continue
                            runs_needed = n
                            break
                        if n >= runs_needed:
                            break
                warmups["%s/do%d" % (sc, do)] = runs_needed
        total = args.rounds * len(items)
        for rnd in range(1, args.rounds + 1):
            for sc, do, s in items:
                time.sleep(args.pause)
                q, binary, extra = qfile(sc, do)
                admin = getattr(s, "admin_port", None)
                c0 = cache_counters(admin) if admin else None
                r = G.measured_run(s, args, q, args.duration,
                                   os.path.join(outdir, "dnsperf-%s-do%d-%s-r%d.txt" % (sc, do, s.name, rnd)),
                                   binary=binary, extra=extra)
                c1 = cache_counters(admin) if admin else None
                if c0 is not None and c1 is not None:
                    d = {k: c1[k] - c0[k] for k in ("hit", "miss")}
                    r["signature_cache"] = d
                    acc = cache.setdefault("%s/do%d" % (sc, do), {"hit": 0.0, "miss": 0.0})
                    acc["hit"] += d["hit"]
                    acc["miss"] += d["miss"]
                r.update({"round": rnd, "scenario": sc, "do": do})
                runs.append(r)
                B.log("run %2d/%d  round %d  %-8s DO=%d %-9s %8.0f qps  /proc user %7.3f sys %7.3f  exact cpu %7.3f"
                      "  perf user %s µs/q  lost %d  other %.2f%s" % (
                    len(runs), total, rnd, sc, do, s.name, r["qps"], r["user_us_per_q"], r["sys_us_per_q"],
                    r["exact_cpu_us_per_q"], "%.3f" % r["perf_user_us_per_q"] if "perf_user_us_per_q" in r else "-",
                    r["lost"], r["other_cores"], "  cache hit/miss %.0f/%.0f" % (
                        r["signature_cache"]["hit"], r["signature_cache"]["miss"]) if "signature_cache" in r else ""))
        keyinfo = {"%s/%s" % (g, s.name): getattr(s, "keyinfo", None) for g, lst in servers.items() for s in lst}
    finally:
        B.stop_servers(all_servers, outdir, work)

    names = []
    for n in wanted:
        if any(r["server"] == n for r in runs):
            names.append(n)
    table, medians, ratios = summarize(runs, names, cache)
    versions = {n: B.server_version("knotd" if n == "knotd-pre" else n) for n in names}
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "versions": versions, "args": vars(args), "geodb": geodb, "git": B.git_revision(),
        "meridian_binary": "%s (built %s)" % (B.Meridian.binary, B.binary_age(B.Meridian.binary)),
        "dnsperf": "-c %d -q %d -T %d -l %d%s" % (args.clients, args.outstanding, args.threads, args.duration,
                                                   " -Q %d" % args.qps if args.qps else ""),
        "refused": refused, "pdns_keys": keyinfo, "warmup_runs": warmups,
    }
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs, "medians": medians, "ratios": ratios, "signature_cache": cache},
                  f, indent=1)
    head = "%s  %d CPUs  kernel %s  %s  repo %s\nservers: %s\ndnsperf %s, %d interleaved rounds\nmeridian binary: %s\n" % (
        meta["date"], meta["cpus"], meta["kernel"], meta["host"], meta["git"],
        ", ".join("%s %s" % kv for kv in versions.items()), meta["dnsperf"], args.rounds, meta["meridian_binary"])
    ref = ""
    for k, v in refused.items():
        for name, probs in v.items():
            ref += "NOT MEASURED: %s %s: %s\n" % (k, name, "; ".join(probs[:3]))
    text = head + "\n" + table + "\n" + ("\n" + ref if ref else "")
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(text)
    B.link_latest(outdir, os.path.join(args.out, "dnssec-latest"))
    print()
    print(text)
    print("raw results: %s" % outdir)


if __name__ == "__main__":
    main()
