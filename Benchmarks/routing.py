#!/usr/bin/env python3
"""Routing benchmark: Meridian's round-robin, weighted and geo-nearest
services next to gdnsd 3 (multifo, weighted, geoip auto_dc_coords) and
PowerDNS 4.7 (LUA records: pickrandomsample, pickwrandom, pickclosest).

  Benchmarks/routing.py                              # default: ~5 minutes
  Benchmarks/routing.py --rounds 3 --duration 5      # quicker
  Benchmarks/routing.py --scenarios geo --servers meridian,gdnsd

What it does:
 1. draws --queries (100,000) ECS subnets that are real public prefixes from
    GeoLite2-City itself (scripts/fetch-geolite2): random public addresses
    the database locates, in networks of /24 or shorter (IPv4 /24) or /48 or
    shorter (IPv6 /48 and /56), balanced over continents, deterministic
    (fixed seed), cached in Benchmarks/out/routing-cache/;
 2. writes one dnsperf -B file per scenario (length-prefixed raw DNS
    messages, each A query carrying its own EDNS Client Subnet option);
 3. starts meridian, gdnsd and pdns_server once, each on its own 127.0.0.1
    port with a config in a temp dir, all serving zone gslb.example. with
    three names: rr (round-robin over 5 data centers), wt (weighted 3:2:2:1:2)
    and geo (nearest data center), every data center answering one address
    from the documentation prefixes;
 4. accuracy: 600 geo queries (a stratified sample of the subnets) asked of
    every server; the answer's data center must be the true nearest one by
    haversine distance from the database's coordinates of the subnet; also
    the weighted shares over --shares answers and ECS scopes;
 5. interleaved dnsperf rounds per scenario (A B C, A B C, ...), utime/stime
    of each server from /proc/PID/stat around each run, divided by answered
    queries; medians and Meridian's ratios; raw results in
    Benchmarks/out/routing-<timestamp>/.

Every packet stays on 127.0.0.1; nothing is ever sent to the answer
addresses.
"""

import argparse
import datetime
import ipaddress
import json
import math
import os
import platform
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import run as R  # noqa: E402  (dnsperf wrapper, dnsperf output parser)

ORIGIN = "gslb.example."

# name, latitude, longitude, answer address (documentation prefixes only)
DATACENTERS = [
    ("iad", 38.95, -77.45, "192.0.2.10"),
    ("dub", 53.35, -6.26, "192.0.2.20"),
    ("nrt", 35.77, 140.39, "198.51.100.30"),
    ("gru", -23.43, -46.47, "198.51.100.40"),
    ("fra", 50.03, 8.57, "203.0.113.50"),
]
WEIGHTS = {"iad": 3, "dub": 2, "nrt": 2, "gru": 1, "fra": 2}
DC_BY_ADDR = {d[3]: d[0] for d in DATACENTERS}
SCENARIOS = {"rr": "rr." + ORIGIN, "weighted": "wt." + ORIGIN, "geo": "geo." + ORIGIN}

# Share of the queries per continent (of the database's continent code).
CONTINENT_SHARE = {"NA": 0.24, "EU": 0.26, "AS": 0.26, "SA": 0.10, "AF": 0.08, "OC": 0.06}
IPV6_SHARE = 0.10
SEED = 20240917


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def nearest_dc(lat, lon):
    return min(DATACENTERS, key=lambda d: haversine_km(lat, lon, d[1], d[2]))[0]


def flat_nearest_dc(lat, lon):
    """PowerDNS pickclosest's metric: squared difference of degrees."""
    def d2(d):
        dlon = lon - d[2]
        if dlon > 180:
            dlon = 360 - dlon
        return (lat - d[1]) ** 2 + dlon ** 2
    return min(DATACENTERS, key=d2)[0]


# --------------------------------------------------------------------------
# subnets from the GeoLite2 database

def draw_subnets(db_path, n, seed):
    """[(network str, prefix, continent, lat, lon)]: n distinct ECS subnets."""
    import maxminddb
    rng = random.Random(seed)
    reader = maxminddb.open_database(db_path)
    n6 = int(round(n * IPV6_SHARE))
    n4 = n - n6
    quota = {}
    for fam, total in ((4, n4), (6, n6)):
        left = total
        for i, (c, share) in enumerate(CONTINENT_SHARE.items()):
            q = total - sum(quota.get((fam, k), 0) for k in CONTINENT_SHARE) if i == len(CONTINENT_SHARE) - 1 \
                else int(round(total * share))
            quota[(fam, c)] = q
            left -= q
    got = {k: 0 for k in quota}
    seen = set()
    out = []
    # IPv6: random addresses in the RIRs' big unicast blocks.
    v6_blocks = [ipaddress.ip_network(b) for b in
                 ("2001:200::/23", "2001:400::/23", "2001:600::/23", "2001:800::/22", "2001:1200::/23",
                  "2001:4200::/23", "2001:4400::/23", "2001:4800::/23", "2001:4c00::/23", "2003::/18",
                  "2400::/12", "2600::/12", "2800::/12", "2a00::/12", "2c00::/12")]
    draws = 0
    while len(out) < n:
        draws += 1
        if draws > 200 * n:
            raise RuntimeError("could not draw %d subnets (got %d)" % (n, len(out)))
        need4 = any(got[(4, c)] < quota[(4, c)] for c in CONTINENT_SHARE)
        fam = 4 if need4 and (rng.random() >= IPV6_SHARE or not any(
            got[(6, c)] < quota[(6, c)] for c in CONTINENT_SHARE)) else 6
        if fam == 4:
            a = ipaddress.IPv4Address(rng.randrange(1 << 24, 224 << 24) & ~0xFF)
            if not a.is_global:
                continue
            plen = 24
        else:
            blk = v6_blocks[rng.randrange(len(v6_blocks))]
            plen = 48 if rng.random() < 0.5 else 56
            bits = rng.getrandbits(128 - blk.prefixlen)
            a = ipaddress.IPv6Address(int(blk.network_address) | (bits >> (128 - plen) << (128 - plen)))
            if not a.is_global:
                continue
        key = (fam, int(a), plen)
        if key in seen:
            continue
        rec, dbplen = reader.get_with_prefix_len(str(a))
        if not rec or dbplen > plen or "location" not in rec:
            continue
        loc = rec["location"]
        cont = rec.get("continent", {}).get("code")
        if cont not in CONTINENT_SHARE or "latitude" not in loc:
            continue
        if got[(fam, cont)] >= quota[(fam, cont)]:
            continue
        got[(fam, cont)] += 1
        seen.add(key)
        out.append((str(a), plen, cont, float(loc["latitude"]), float(loc["longitude"])))
    reader.close()
    rng.shuffle(out)
    return out, draws


def load_subnets(db_path, n, cache_dir):
    os.makedirs(cache_dir, exist_ok=True)
    st = os.stat(db_path)
    path = os.path.join(cache_dir, "subnets-%d-%d-%d.tsv" % (n, SEED, st.st_size))
    if os.path.exists(path):
        res = []
        with open(path) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                a, p, c, lat, lon = line.split()
                res.append((a, int(p), c, float(lat), float(lon)))
        return res, path
    t0 = time.monotonic()
    res, draws = draw_subnets(db_path, n, SEED)
    with open(path + ".tmp", "w") as f:
        f.write("# network prefix continent latitude longitude (from %s; %d draws)\n" % (os.path.basename(db_path), draws))
        for r in res:
            f.write("%s %d %s %.4f %.4f\n" % r)
    os.rename(path + ".tmp", path)
    B.log("routing: drew %d subnets from the database in %.1fs (%d random addresses tried)" % (
        n, time.monotonic() - t0, draws))
    return res, path


# --------------------------------------------------------------------------
# DNS messages

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def ecs_option(addr, plen):
    ip = ipaddress.ip_address(addr)
    fam = 1 if ip.version == 4 else 2
    raw = ip.packed[:(plen + 7) // 8]
    body = struct.pack(">HBB", fam, plen, 0) + raw
    return struct.pack(">HH", 8, len(body)) + body


def query(qname, addr, plen, qid=0, qtype=1):
    opt = ecs_option(addr, plen)
    return (struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1) + encode_name(qname) + struct.pack(">HH", qtype, 1)
            + b"\x00" + struct.pack(">HHIH", 41, 1232, 0, len(opt)) + opt)


def write_binary_queries(path, qname, subnets):
    with open(path, "wb") as f:
        for a, p, *_ in subnets:
            m = query(qname, a, p)
            f.write(struct.pack(">H", len(m)) + m)


def parse_response(msg):
    """(qid, rcode, [A/AAAA addresses], ecs scope or None)"""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    i = 12
    for _ in range(qd):
        i = B.skip_name(msg, i) + 4
    addrs, scope = [], None
    for k in range(an + ns + ar):
        i = B.skip_name(msg, i)
        t, c, ttl, rdlen = struct.unpack(">HHIH", msg[i:i + 10])
        i += 10
        rd = msg[i:i + rdlen]
        i += rdlen
        if k < an and t == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, rd))
        elif k < an and t == 28 and rdlen == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rd))
        elif t == 41:
            j = 0
            while j + 4 <= len(rd):
                code, olen = struct.unpack(">HH", rd[j:j + 4])
                if code == 8 and olen >= 4:
                    scope = rd[j + 7]
                j += 4 + olen
    return qid, flags & 0xF, addrs, scope


def ask_many(port, qname, subnets, window=32, timeout=1.0, tries=3):
    """Ask qname with each subnet's ECS; returns [(rcode, addrs, scope) or None]."""
    res = [None] * len(subnets)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    try:
        for _ in range(tries):
            todo = [k for k, r in enumerate(res) if r is None]
            if not todo:
                break
            pos = 0
            inflight = {}
            while pos < len(todo) or inflight:
                while pos < len(todo) and len(inflight) < window:
                    k = todo[pos]
                    pos += 1
                    a, p = subnets[k][0], subnets[k][1]
                    qid = k & 0xFFFF
                    s.send(query(qname, a, p, qid))
                    inflight[qid] = k
                s.settimeout(timeout)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    break
                qid, rcode, addrs, scope = parse_response(data)
                k = inflight.pop(qid, None)
                if k is not None:
                    res[k] = (rcode, addrs, scope)
    finally:
        s.close()
    return res


# --------------------------------------------------------------------------
# a tiny MaxMind DB writer: locations of the answer addresses for PowerDNS

def _ctrl(t, size):
    assert size < 285
    field, ext = (size, b"") if size < 29 else (29, bytes([size - 29]))
    if t <= 7:
        return bytes([(t << 5) | field]) + ext
    return bytes([field, t - 7]) + ext


def _enc(v):
    if isinstance(v, dict):
        out = _ctrl(7, len(v))
        for k, x in v.items():
            out += _enc(k) + _enc(x)
        return out
    if isinstance(v, str):
        b = v.encode()
        return _ctrl(2, len(b)) + b
    if isinstance(v, float):
        return _ctrl(3, 8) + struct.pack(">d", v)
    if isinstance(v, tuple):  # (type, int): 5 uint16, 6 uint32, 9 uint64
        t, x = v
        b = x.to_bytes((x.bit_length() + 7) // 8, "big")
        return _ctrl(t, len(b)) + b
    if isinstance(v, list):
        out = _ctrl(11, len(v))
        for x in v:
            out += _enc(x)
        return out
    raise TypeError(v)


def write_mmdb(path, entries):
    """entries: [(ipv4 address, lat, lon)] as /32 networks of an IPv6-tree DB."""
    root = [None, None]
    datas = []
    for ip, lat, lon in entries:
        bits = int(ipaddress.IPv4Address(ip))
        node = root
        for i in range(127, 0, -1):
            b = (bits >> i) & 1
            if node[b] is None:
                node[b] = [None, None]
            node = node[b]
        node[bits & 1] = ("data", len(datas))
        datas.append({"location": {"latitude": float(lat), "longitude": float(lon), "accuracy_radius": (5, 1)}})
    order, queue = [], [root]
    while queue:
        n = queue.pop(0)
        order.append(n)
        queue.extend(c for c in n if isinstance(c, list))
    index = {id(n): k for k, n in enumerate(order)}
    count = len(order)
    data, offsets = b"", []
    for d in datas:
        offsets.append(len(data))
        data += _enc(d)

    def rec(c):
        if c is None:
            return count
        if isinstance(c, list):
            return index[id(c)]
        return count + 16 + offsets[c[1]]
    tree = b"".join(rec(n[0]).to_bytes(3, "big") + rec(n[1]).to_bytes(3, "big") for n in order)
    meta = {"binary_format_major_version": (5, 2), "binary_format_minor_version": (5, 0),
            "build_epoch": (9, int(time.time())), "database_type": "GeoLite2-City",
            "description": {"en": "Meridian benchmark: data center answer addresses"},
            "ip_version": (5, 6), "languages": ["en"], "node_count": (6, count), "record_size": (5, 24)}
    with open(path, "wb") as f:
        f.write(tree + b"\x00" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _enc(meta))


# --------------------------------------------------------------------------
# servers

SOA = "@ 3600 IN SOA ns1.{o} hostmaster.{o} 1 3600 600 86400 300\n@ 3600 IN NS ns1.{o}\nns1 3600 IN A 192.0.2.53\n"


class RoutedMeridian(B.Meridian):
    def __init__(self, workdir, port, geodb, workers=2):
        self.geodb = geodb
        super().__init__(workdir, port, os.path.join(workdir, "meridian.zone"), ORIGIN, workers)

    def configure(self):
        self.zone = os.path.join(self.dir, "gslb.example.zone")
        with open(self.zone, "w") as f:
            f.write("$ORIGIN %s\n$TTL 3600\n" % ORIGIN + SOA.format(o=ORIGIN))
        dcs = "".join("  %s: { location: [%s, %s], addresses: [%s] }\n" % (n, la, lo, a) for n, la, lo, a in DATACENTERS)
        names = ", ".join(d[0] for d in DATACENTERS)
        with open(os.path.join(self.dir, "meridian.yaml"), "w") as f:
            f.write("""listen: ["127.0.0.1:{port}"]
workers: {w}
log-level: warning
zones:
  - origin: {origin}
    file: {zone}
geoip:
  database: {db}
# Work-around: with no checks and no state file, `meridian serve` exits at
# start ("Service failed(Health.HealthMonitor)": the monitor has nothing to
# run and returns). A state file keeps its save loop alive.
health:
  state-file: {d}/health-state.json
datacenters:
{dcs}services:
  rr.{origin}: {{ policy: round-robin, datacenters: [{names}], ttl: 30 }}
  wt.{origin}: {{ policy: weighted, datacenters: {{ {weights} }}, ttl: 30 }}
  geo.{origin}: {{ policy: geo-nearest, datacenters: [{names}], ttl: 30 }}
""".format(port=self.port, w=self.workers, origin=ORIGIN, zone=self.zone, db=self.geodb, dcs=dcs, names=names, d=self.dir,
                weights=", ".join("%s: %d" % kv for kv in WEIGHTS.items())))


class RoutedGdnsd(B.Gdnsd):
    def __init__(self, workdir, port, geodb, workers=2):
        self.geodb = geodb
        super().__init__(workdir, port, os.path.join(workdir, "gdnsd.zone"), ORIGIN, workers)

    def configure(self):
        cdir = os.path.join(self.dir, "etc")
        os.makedirs(os.path.join(cdir, "zones"), exist_ok=True)
        os.makedirs(os.path.join(cdir, "geoip"), exist_ok=True)
        link = os.path.join(cdir, "geoip", "GeoLite2-City.mmdb")
        if not os.path.lexists(link):
            os.symlink(self.geodb, link)
        names = ", ".join(d[0] for d in DATACENTERS)
        coords = "\n".join("          %s => [ %s, %s ]" % (n, la, lo) for n, la, lo, _ in DATACENTERS)
        dcmap = "\n".join("        %s => %s" % (n, a) for n, _, _, a in DATACENTERS)
        wt = "\n".join("      %s => [ %s, %d ]" % (n, a, WEIGHTS[n]) for n, _, _, a in DATACENTERS)
        rr = "\n".join("      %s => %s" % (n, a) for n, _, _, a in DATACENTERS)
        with open(os.path.join(cdir, "config"), "w") as f:
            f.write("""options => {{
    listen => [ 127.0.0.1 ]
    dns_port => {port}
    udp_threads => {w}
    tcp_threads => {w}
    run_dir => {d}/run
    state_dir => {d}/state
}}
plugins => {{
  geoip => {{
    maps => {{
      world => {{
        geoip2_db => GeoLite2-City.mmdb
        datacenters => [ {names} ]
        auto_dc_coords => {{
{coords}
        }}
      }}
    }}
    resources => {{
      geo => {{
        map => world
        dcmap => {{
{dcmap}
        }}
      }}
    }}
  }}
  weighted => {{
    wt => {{
{wt}
    }}
  }}
  multifo => {{
    rr => {{
{rr}
    }}
  }}
}}
""".format(port=self.port, w=self.workers, d=self.dir, names=names, coords=coords, dcmap=dcmap, wt=wt, rr=rr))
        with open(os.path.join(cdir, "zones", ORIGIN.rstrip(".")), "w") as f:
            f.write("$TTL 3600\n" + SOA.format(o=ORIGIN) +
                    "rr 30 DYNA multifo!rr\nwt 30 DYNA weighted!wt\ngeo 30 DYNA geoip!geo\n")


class PowerDNS(B.Server):
    name = "pdns"

    def __init__(self, workdir, port, geodb, workers=2):
        self.geodb = geodb
        super().__init__(workdir, port, os.path.join(workdir, "pdns.zone"), ORIGIN, workers)

    def configure(self):
        d = self.dir
        self.zone = os.path.join(d, "gslb.example.zone")
        addrs = ", ".join("'%s'" % a for *_, a in DATACENTERS)
        wt = ", ".join("{%d, '%s'}" % (WEIGHTS[n], a) for n, _, _, a in DATACENTERS)
        with open(self.zone, "w") as f:
            f.write("$ORIGIN %s\n$TTL 3600\n" % ORIGIN + SOA.format(o=ORIGIN) +
                    'rr 30 IN LUA A "pickrandomsample(%d, {%s})"\n' % (len(DATACENTERS), addrs) +
                    'wt 30 IN LUA A "pickwrandom({%s})"\n' % wt +
                    'geo 30 IN LUA A "pickclosest({%s})"\n' % addrs)
        with open(os.path.join(d, "named.conf"), "w") as f:
            f.write('zone "%s" { type master; file "%s"; };\n' % (ORIGIN, self.zone))
        # pickclosest() locates the candidate addresses too: documentation
        # prefixes are in no real database, so a second tiny one places each
        # answer address at its data center. The geoip backend tries the
        # files in order.
        dcdb = os.path.join(d, "datacenters.mmdb")
        write_mmdb(dcdb, [(a, la, lo) for _, la, lo, a in DATACENTERS])
        with open(os.path.join(d, "geo-zones.yaml"), "w") as f:
            f.write("domains: []\n")
        with open(os.path.join(d, "pdns.conf"), "w") as f:
            f.write("""launch=bind,geoip
bind-config={d}/named.conf
geoip-database-files=mmdb:{dcdb} mmdb:{geodb}
geoip-zones-file={d}/geo-zones.yaml
enable-lua-records=yes
edns-subnet-processing=yes
local-address=127.0.0.1
local-port={port}
reuseport=yes
receiver-threads={w}
socket-dir={d}
daemon=no
guardian=no
disable-syslog=yes
write-pid=no
webserver=no
api=no
primary=no
secondary=no
loglevel=4
""".format(d=d, dcdb=dcdb, geodb=self.geodb, port=self.port, w=self.workers))

    def command(self):
        return ["pdns_server", "--config-dir=" + self.dir]


# --------------------------------------------------------------------------

def accuracy(servers, subnets, n, outdir):
    """Geo answers of each server for n subnets, against the true nearest."""
    # Stratified by continent (same shares as the query set), deterministic.
    rng = random.Random(SEED + 1)
    by = {}
    for s in subnets:
        by.setdefault(s[2], []).append(s)
    sample = []
    for c, lst in sorted(by.items()):
        k = max(1, int(round(n * len(lst) / len(subnets))))
        sample += rng.sample(lst, min(k, len(lst)))
    sample = sample[:n] if len(sample) >= n else sample + rng.sample(
        [s for s in subnets if s not in sample], n - len(sample))
    truth = [nearest_dc(s[3], s[4]) for s in sample]
    flat = [flat_nearest_dc(s[3], s[4]) for s in sample]
    lines, summary, per_server = [], {}, {}
    lines.append("# %d sample subnets; true = nearest by haversine on the database's coordinates" % len(sample))
    for srv in servers:
        res = ask_many(srv.port, SCENARIOS["geo"], sample)
        per_server[srv.name] = res
        ok = 0
        mism = []
        scopes = {}
        for s, t, fl, r in zip(sample, truth, flat, res):
            got = None
            if r is not None and r[0] == 0 and r[1]:
                got = ",".join(sorted({DC_BY_ADDR.get(a, a) for a in r[1]}))
                sk = "v%d/%s" % (6 if ":" in s[0] else 4, r[2])
                scopes[sk] = scopes.get(sk, 0) + 1
            if got == t:
                ok += 1
            else:
                d_t = haversine_km(s[3], s[4], *[(x[1], x[2]) for x in DATACENTERS if x[0] == t][0])
                d_g = None
                if got in [x[0] for x in DATACENTERS]:
                    d_g = haversine_km(s[3], s[4], *[(x[1], x[2]) for x in DATACENTERS if x[0] == got][0])
                mism.append("%s/%d (%s, %.4f,%.4f): expected %s (%.0f km), got %s%s%s" % (
                    s[0], s[1], s[2], s[3], s[4], t, d_t, got if got else ("no answer" if r is None else "rcode %d" % r[0]),
                    " (%.0f km)" % d_g if d_g is not None else "", "  [flat-degree nearest: %s]" % fl if fl != t else ""))
        def order(kv):
            fam, _, sc = kv[0].partition("/")
            return fam, int(sc) if sc.isdigit() else 999
        summary[srv.name] = {"correct": ok, "total": len(sample), "scopes": dict(sorted(scopes.items(), key=order))}
        lines.append("%s: %d/%d true nearest; ECS scopes %s" % (srv.name, ok, len(sample), summary[srv.name]["scopes"]))
        lines += ["  " + m for m in mism]
    # ECS scope: a longer (narrower) scope than needed only costs resolvers' cache hits.
    if "meridian" in per_server and "gdnsd" in per_server:
        diffs = []
        for s, a, b in zip(sample, per_server["meridian"], per_server["gdnsd"]):
            if a and b and a[2] is not None and b[2] is not None and a[2] != b[2]:
                diffs.append((a[2] - b[2], s, a[2], b[2]))
        narrower = [d for d in diffs if d[0] > 0]
        wider = [d for d in diffs if d[0] < 0]
        line = "ECS scope meridian vs gdnsd: same on %d/%d, narrower (longer) on %d, wider on %d" % (
            len(sample) - len(diffs), len(sample), len(narrower), len(wider))
        summary["scope_vs_gdnsd"] = {"same": len(sample) - len(diffs), "narrower": len(narrower), "wider": len(wider)}
        lines.append(line)
        for d, sn, a, b in sorted(narrower, key=lambda x: -x[0])[:20]:
            lines.append("  narrower: %s/%d: meridian /%d, gdnsd /%d" % (sn[0], sn[1], a, b))
        for d, sn, a, b in sorted(wider, key=lambda x: x[0])[:20]:
            lines.append("  wider:    %s/%d: meridian /%d, gdnsd /%d" % (sn[0], sn[1], a, b))
    flat_ok = sum(1 for t, f in zip(truth, flat) if t == f)
    lines.append("(flat-degree metric agrees with haversine on %d/%d)" % (flat_ok, len(sample)))
    with open(os.path.join(outdir, "accuracy.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(outdir, "accuracy-sample.tsv"), "w") as f:
        for s, t in zip(sample, truth):
            f.write("%s/%d %s %.4f %.4f %s\n" % (s[0], s[1], s[2], s[3], s[4], t))
    return lines, summary


def shares(servers, subnets, n):
    """Weighted and round-robin answers over n queries per server."""
    out = {}
    for srv in servers:
        sub = subnets[:n]
        wt = ask_many(srv.port, SCENARIOS["weighted"], sub)
        cnt = {}
        for r in wt:
            if r and r[0] == 0 and r[1]:
                for a in r[1]:
                    cnt[DC_BY_ADDR.get(a, a)] = cnt.get(DC_BY_ADDR.get(a, a), 0) + 1
        total = sum(cnt.values())
        rr = ask_many(srv.port, SCENARIOS["rr"], subnets[:200])
        firsts = {}
        sizes = set()
        wt_scopes, rr_scopes = set(), set()
        for r in rr:
            if r and r[1]:
                firsts[DC_BY_ADDR.get(r[1][0])] = firsts.get(DC_BY_ADDR.get(r[1][0]), 0) + 1
                sizes.add(len(r[1]))
                rr_scopes.add(r[2])
        for r in wt:
            if r:
                wt_scopes.add(r[2])
        out[srv.name] = {
            "weighted_answers": total, "unanswered": sum(1 for r in wt if r is None),
            "weighted_pct": {k: round(100.0 * v / max(1, total), 2) for k, v in sorted(cnt.items())},
            "rr_answer_sizes": sorted(sizes), "rr_first_address": firsts,
            "weighted_scopes": sorted(str(x) for x in wt_scopes), "rr_scopes": sorted(str(x) for x in rr_scopes)}
    return out


def summarize(runs, names, scenarios):
    lines = []
    medians = {}
    hdr = "%-9s %-9s %9s %9s %10s %10s %10s %10s %7s %7s %5s" % (
        "scenario", "server", "QPS", "lat µs", "user µs/q", "sys µs/q", "cpu µs/q", "perf usr/q",
        "lost%", "other", "runs")
    lines += [hdr, "-" * len(hdr)]
    for sc in scenarios:
        for name in names:
            rs = [r for r in runs if r["server"] == name and r["scenario"] == sc]
            if not rs:
                continue
            m = {
                "qps": R.med([r["qps"] for r in rs]),
                "lat_us": R.med([r["lat_avg"] * 1e6 if r["lat_avg"] is not None else None for r in rs]),
                "user_us_per_q": R.med([r["user_us_per_q"] for r in rs]),
                "sys_us_per_q": R.med([r["sys_us_per_q"] for r in rs]),
                "exact_cpu_us_per_q": R.med([r.get("exact_cpu_us_per_q") for r in rs]),
                "perf_user_us_per_q": R.med([r.get("perf_user_us_per_q") for r in rs]),
                "lost_pct": R.med([100.0 * r["lost"] / max(1, r["sent"]) for r in rs]),
                "other_cores": R.med([r["other_cores"] for r in rs]),
                "runs": len(rs)}
            medians.setdefault(sc, {})[name] = m
            lines.append("%-9s %-9s %9.0f %9.0f %10.3f %10.3f %10.3f %10.3f %7.2f %7.2f %5d" % (
                sc, name, m["qps"], m["lat_us"], m["user_us_per_q"], m["sys_us_per_q"], m["exact_cpu_us_per_q"],
                m["perf_user_us_per_q"], m["lost_pct"], m["other_cores"], m["runs"]))
        lines.append("")
    lines.append("(medians over interleaved runs; user/sys: /proc/PID/stat (tick-sampled); cpu: exact, schedstat;")
    lines.append(" perf usr/q: cpu x user share of perf cpu-clock samples; 'other' = cores busy with other work)")
    ratios = {}
    if "meridian" in names:
        lines.append("")
        lines.append("Meridian / peer      QPS (paired)        /proc user/q (paired)   perf user/q (paired)   cpu/q")
        lines.append("                                           [CPU ratios: lower is better for Meridian]")
        for sc in scenarios:
            mer = {r["round"]: r for r in runs if r["server"] == "meridian" and r["scenario"] == sc}
            for name in names:
                if name == "meridian" or name not in medians.get(sc, {}) or "meridian" not in medians.get(sc, {}):
                    continue
                peer = {r["round"]: r for r in runs if r["server"] == name and r["scenario"] == sc}
                common = sorted(set(mer) & set(peer))
                pq = R.med([mer[k]["qps"] / peer[k]["qps"] for k in common if peer[k]["qps"]])
                pu = R.med([mer[k]["user_us_per_q"] / peer[k]["user_us_per_q"] for k in common
                            if peer[k]["user_us_per_q"]])
                mm, pm = medians[sc]["meridian"], medians[sc][name]
                q = mm["qps"] / pm["qps"] if pm["qps"] else float("nan")
                u = mm["user_us_per_q"] / pm["user_us_per_q"] if pm["user_us_per_q"] else float("nan")
                pp = R.med([mer[k]["perf_user_us_per_q"] / peer[k]["perf_user_us_per_q"] for k in common
                            if peer[k].get("perf_user_us_per_q") and mer[k].get("perf_user_us_per_q") is not None])
                up = (mm["perf_user_us_per_q"] / pm["perf_user_us_per_q"]
                      if pm["perf_user_us_per_q"] and not math.isnan(pm["perf_user_us_per_q"]) else float("nan"))
                c = mm["exact_cpu_us_per_q"] / pm["exact_cpu_us_per_q"] if pm["exact_cpu_us_per_q"] else float("nan")
                ratios.setdefault(sc, {})[name] = {"qps": q, "qps_paired": pq, "user_cpu": u, "user_cpu_paired": pu,
                                                   "perf_user_cpu": up, "perf_user_cpu_paired": pp, "exact_cpu": c}
                lines.append("  %-8s vs %-6s  %6.2fx (%6.2fx)   %7.3fx (%7.3fx)   %7.3fx (%7.3fx)   %7.3fx" % (
                    sc, name, q, pq, u, pu, up, pp, c))
        g = ratios.get("geo", {}).get("gdnsd")
        if g:
            lines.append("")
            uc = g["perf_user_cpu"] if not math.isnan(g["perf_user_cpu"]) else g["user_cpu"]
            lines.append("Speed bar (geo+ECS vs gdnsd): QPS >= gdnsd: %s (%.2fx); user CPU/query <= gdnsd: %s (%.2fx, %s)" % (
                "yes" if g["qps"] >= 1.0 else "NO", g["qps"], "yes" if uc <= 1.0 else "NO", uc,
                "perf split" if not math.isnan(g["perf_user_cpu"]) else "/proc"))
    return "\n".join(lines), medians, ratios


def profile(server, qfile, args, outdir):
    """perf record of the server's user and kernel time during a geo dnsperf run."""
    data = os.path.join(outdir, "perf.data")
    cmd = ["dnsperf", "-B", "-s", "127.0.0.1", "-p", str(server.port), "-d", qfile, "-l", str(args.perf + 3),
           "-c", str(args.clients), "-q", str(args.outstanding), "-t", "1"]
    d = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        p = subprocess.run(["perf", "record", "-F", "2000", "-g", "-o", data, "-p", str(server.proc.pid), "--",
                            "sleep", str(args.perf)], capture_output=True, text=True)
        if p.returncode != 0:
            B.log("routing: perf record failed: %s" % p.stderr.strip()[-300:])
            return
    finally:
        d.wait(timeout=args.perf + 30)
    out = []
    for sort in ("dso", "sym"):
        r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", sort, "-g", "none"],
                           capture_output=True, text=True)
        out += [line for line in r.stdout.splitlines() if "%" in line and not line.startswith("#")][:40]
        out.append("")
    with open(os.path.join(outdir, "perf.txt"), "w") as f:
        f.write("\n".join(out))
    B.log("routing: perf profile of meridian (geo) in %s; top:\n%s" % (
        os.path.join(outdir, "perf.txt"), "\n".join(out[:16])))


def sched_ns(root):
    """Exact CPU time (ns) of every thread of root's process tree: field 1 of
    /proc/PID/task/TID/schedstat (sum_exec_runtime)."""
    total = 0
    for pid in B.process_tree(root):
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def measured_run(server, args, qfile, duration, logpath, binary=True, extra=()):
    """R.dnsperf, plus (with --split) the exact CPU time from schedstat and the
    user/kernel split from perf cpu-clock samples of the server during the run.

    Why: /proc/PID/stat utime/stime come from tick sampling (CONFIG_TICK_CPU_
    ACCOUNTING, HZ=250 here) rescaled to the exact runtime with the
    process's whole history (cputime_adjust keeps both monotonic), so over an
    8 s window of a process that mostly sits in system calls the user part
    swings by 2x between runs. 2000 samples/s give a steadier split."""
    perf = None
    data = logpath[:-4] + ".perf"
    if args.split:
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "1999", "-o", data, "-p", str(server.proc.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
    ns0 = sched_ns(server.proc.pid)
    try:
        r = R.dnsperf(server, args, qfile, duration, logpath, binary=binary, extra=extra)
    finally:
        ns1 = sched_ns(server.proc.pid)
        if perf:
            perf.send_signal(signal.SIGINT)
            try:
                perf.wait(timeout=30)
            except subprocess.TimeoutExpired:
                perf.kill()
                perf.wait()
    n = max(1, r["completed"])
    r["exact_cpu_us_per_q"] = (ns1 - ns0) / 1e3 / n
    if perf:
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "dso", "-g", "none"],
                             capture_output=True, text=True)
        kern = user = 0.0
        for line in rep.stdout.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+(\S.*)$", line)
            if m:
                if m.group(2).startswith("[kernel") or m.group(2).startswith("[guest.kernel"):
                    kern += float(m.group(1))
                else:
                    user += float(m.group(1))
        samples = re.search(r"# Samples: ([\d.]+)([KM]?)", rep.stdout)
        r["perf_samples"] = (int(float(samples.group(1)) * {"": 1, "K": 1000, "M": 1000000}[samples.group(2)])
                             if samples else None)
        frac = user / (user + kern) if user + kern > 0 else float("nan")
        r["perf_user_frac"] = frac
        r["perf_user_us_per_q"] = r["exact_cpu_us_per_q"] * frac
        r["perf_sys_us_per_q"] = r["exact_cpu_us_per_q"] * (1 - frac)
        try:
            os.unlink(data)
        except OSError:
            pass
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="meridian,gdnsd,pdns", help="comma-separated, interleaving order")
    ap.add_argument("--scenarios", default="geo,weighted,rr", help="comma-separated: geo,weighted,rr")
    ap.add_argument("--meridian", default=B.DEFAULT_MERIDIAN, help="meridian binary")
    ap.add_argument("--geodb", default=None, help="GeoLite2-City.mmdb (default: scripts/fetch-geolite2)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario (default 3)")
    ap.add_argument("--duration", type=int, default=8, help="seconds per dnsperf run (default 8)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured warm-up per server and scenario")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c (default 8)")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T (default 1)")
    ap.add_argument("--qps", type=int, default=0, help="dnsperf -Q: fixed offered load (default open loop)")
    ap.add_argument("--workers", type=int, default=2, help="threads per server (default 2)")
    ap.add_argument("--queries", type=int, default=100000, help="ECS subnets = queries per file (default 100000)")
    ap.add_argument("--accuracy", type=int, default=600, help="geo sample size (default 600, 0 = skip)")
    ap.add_argument("--shares", type=int, default=10000, help="weighted answers counted per server (0 = skip)")
    ap.add_argument("--pause", type=float, default=1.0, help="idle seconds between runs")
    ap.add_argument("--out", default=os.path.join(B.HERE, "out"), help="output root (default Benchmarks/out)")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temp dir with configs")
    ap.add_argument("--no-split", dest="split", action="store_false",
                    help="do not perf-sample the servers during the runs (user/kernel split from /proc only)")
    ap.add_argument("--perf", type=int, default=0, metavar="SECONDS",
                    help="after the rounds, perf-record meridian for SECONDS during an extra geo run "
                         "(perf.txt in the output dir; default 0 = off)")
    args = ap.parse_args()
    B.install_signal_handlers()
    B.Meridian.binary = os.path.abspath(args.meridian)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for sc in scenarios:
        if sc not in SCENARIOS:
            sys.exit("routing: unknown scenario %s (geo, weighted, rr)" % sc)

    geodb = args.geodb or subprocess.run([os.path.join(B.REPO, "scripts", "fetch-geolite2")], capture_output=True,
                                         text=True, check=True).stdout.strip()
    geodb = os.path.abspath(geodb)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, "routing-" + stamp)
    os.makedirs(outdir, exist_ok=True)
    subnets, subnet_file = load_subnets(geodb, args.queries, os.path.join(args.out, "routing-cache"))
    v6 = sum(1 for s in subnets if ":" in s[0])
    conts = {}
    for s in subnets:
        conts[s[2]] = conts.get(s[2], 0) + 1
    B.log("routing: %d subnets (%d IPv4 /24, %d IPv6 /48 or /56) from %s; continents %s" % (
        len(subnets), len(subnets) - v6, v6, subnet_file, conts))
    qfiles = {}
    for sc in scenarios:
        qfiles[sc] = os.path.join(outdir, "queries-%s.bin" % sc)
        write_binary_queries(qfiles[sc], SCENARIOS[sc], subnets)

    classes = {"meridian": RoutedMeridian, "gdnsd": RoutedGdnsd, "pdns": PowerDNS}
    work = B.Workdir(keep=args.keep_temp)
    servers, used, runs = [], set(), []
    acc_lines, acc, share, scope_cmp = [], {}, {}, None
    try:
        for name in [n.strip() for n in args.servers.split(",") if n.strip()]:
            port = B.free_port(used)
            used.add(port)
            s = classes[name](work.path, port, geodb, workers=args.workers)
            if not s.available():
                B.log("routing: skipping %s: %s not found" % (name, s.command()[0]))
                continue
            s.start()
            servers.append(s)
        if not servers:
            sys.exit("routing: no server available")
        for s in servers:
            t = s.wait_ready(60)
            B.log("routing: %-8s pid %d on 127.0.0.1:%d, answering after %.2fs" % (s.name, s.proc.pid, s.port, t))

        if args.accuracy:
            acc_lines, acc = accuracy(servers, subnets, args.accuracy, outdir)
            for s in servers:
                B.log("accuracy: %s: %d/%d true nearest data center; ECS scopes %s" % (
                    s.name, acc[s.name]["correct"], acc[s.name]["total"], acc[s.name]["scopes"]))
            scope_cmp = acc.pop("scope_vs_gdnsd", None)
            if scope_cmp:
                B.log("accuracy: ECS scope meridian vs gdnsd on the same subnets: %s" % scope_cmp)
            mer = False
            for line in acc_lines:
                if not line.startswith("  "):
                    mer = line.startswith("meridian:")
                elif mer:
                    B.log("accuracy: meridian mismatch: " + line.strip())
            B.log("accuracy: details in %s" % os.path.join(outdir, "accuracy.txt"))
        if args.shares:
            share = shares(servers, subnets, args.shares)
            for name, v in share.items():
                B.log("shares: %-8s weighted %s over %d answers (want %s); rr sizes %s, first address %s; scopes wt %s rr %s" % (
                    name, v["weighted_pct"], v["weighted_answers"],
                    {k: round(100.0 * w / sum(WEIGHTS.values()), 1) for k, w in WEIGHTS.items()},
                    v["rr_answer_sizes"], v["rr_first_address"], v["weighted_scopes"], v["rr_scopes"]))

        total = args.rounds * len(servers) * len(scenarios)
        for sc in scenarios:
            if args.warmup:
                for s in servers:
                    R.dnsperf(s, args, qfiles[sc], args.warmup, os.path.join(outdir, "warmup-%s-%s.txt" % (sc, s.name)),
                              binary=True)
            for rnd in range(1, args.rounds + 1):
                for s in servers:
                    time.sleep(args.pause)
                    r = measured_run(s, args, qfiles[sc], args.duration,
                                     os.path.join(outdir, "dnsperf-%s-%s-r%d.txt" % (sc, s.name, rnd)))
                    r["round"] = rnd
                    r["scenario"] = sc
                    runs.append(r)
                    B.log("run %2d/%d  %-8s round %d  %-8s %8.0f qps  lat %6.0f µs  /proc user %8.3f sys %7.3f µs/q  "
                          "exact cpu %8.3f µs/q%s  lost %d  other %.2f cores" % (
                              len(runs), total, sc, rnd, s.name, r["qps"], (r["lat_avg"] or 0) * 1e6,
                              r["user_us_per_q"], r["sys_us_per_q"], r["exact_cpu_us_per_q"],
                              "  perf user %.3f µs/q (%.1f%%, %s samples)" % (
                                  r["perf_user_us_per_q"], 100 * r["perf_user_frac"], r["perf_samples"])
                              if "perf_user_frac" in r else "", r["lost"], r["other_cores"]))
        mer = [s for s in servers if s.name == "meridian"]
        if args.perf and mer and "geo" in qfiles:
            profile(mer[0], qfiles["geo"], args, outdir)
    finally:
        B.stop_servers(servers, outdir, work)

    names = [s.name for s in servers]
    table, medians, ratios = summarize(runs, names, scenarios)
    versions = {n: B.server_version(n) for n in names}
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "versions": versions, "args": vars(args), "geodb": geodb, "subnets": subnet_file,
        "git": B.git_revision(),
        "meridian_binary": "%s (built %s)" % (B.Meridian.binary, B.binary_age(B.Meridian.binary)),
        "dnsperf": "-B -c %d -q %d -T %d -l %d%s" % (args.clients, args.outstanding, args.threads, args.duration,
                                                      " -Q %d" % args.qps if args.qps else ""),
    }
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs, "medians": medians, "ratios": ratios, "accuracy": acc,
                   "scope_vs_gdnsd": scope_cmp,
                   "shares": share}, f, indent=1)
    head = "%s  %d CPUs  kernel %s  %s  repo %s\nservers: %s\ndnsperf %s, %d interleaved rounds per scenario\n" % (
        meta["date"], meta["cpus"], meta["kernel"], meta["host"], meta["git"],
        ", ".join("%s %s" % kv for kv in versions.items()), meta["dnsperf"], args.rounds)
    if "meridian" in versions:
        head += "meridian binary: %s\n" % meta["meridian_binary"]
    acc_txt = "\n".join("accuracy (geo, %d subnets): %s %d/%d true nearest" % (
        v["total"], k, v["correct"], v["total"]) for k, v in acc.items())
    share_txt = "\n".join("weighted shares over %d answers: %s %s" % (
        v["weighted_answers"], k, v["weighted_pct"]) for k, v in share.items())
    rc = "response codes (last round): " + "; ".join(
        "%s/%s %s" % (r["scenario"], r["server"], " ".join(
            "%s %.1f%%" % (k, 100.0 * v / max(1, r["completed"])) for k, v in r["rcodes"].items()))
        for r in runs if r["round"] == args.rounds)
    text = head + "\n" + table + "\n\n" + acc_txt + "\n" + share_txt + "\n\n" + rc + "\n"
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(text)
    B.link_latest(outdir, os.path.join(args.out, "routing-latest"))
    print()
    print(text)
    print("raw results: %s" % outdir)


if __name__ == "__main__":
    main()
