#!/usr/bin/python3
"""ECS scope through a real resolver cache: Unbound's subnet cache in front of meridian.

A query whose ECS address cannot be located (private 10/8, shared CGNAT 100.64/10, loopback
127/8, or no ECS at all, which Unbound turns into the stub's own loopback address) is answered
from the resolver's address. If that answer carried ECS scope 0 ("suitable for all addresses in
FAMILY", RFC 7871 §7.2.1), Unbound would serve the resolver's data center to every later client
for the whole TTL. This suite checks, for each such first query on a fresh Unbound cache, that
clients of other continents asking next still get their own nearest data center, and that
meridian's scope for these queries is the special-purpose block that decided them, as gdnsd
(an independent implementation on the same database) answers.

Setup, all on loopback:
  * meridian on 127.0.0.1:<port>, Tests/Fixtures/routing/geo.yaml on GeoLite2-City (its explicit
    networks place 127.0.0.3 in São Paulo);
  * Unbound 1.17 (Debian `unbound`) as an unprivileged foreground process with its own config in a
    temp dir: module-config "subnetcache iterator", send-client-subnet to meridian, a stub zone for
    example.com. pointing at meridian only, root hints naming 127.0.0.254 (nothing listens; never
    needed), queries sent from 127.0.0.3, do-not-query-address over every IPv4 address outside
    127.0.0.0/8, IPv6 off. `unbound-checkconf -o` confirms those settings before any query;
  * gdnsd 3 (Debian `gdnsd`) with its geoip plugin, same database and data centers.

Expected data centers come from the database (python3-maxminddb) and the haversine distance to
the five data centers, never from meridian's output; each client's database location must lie
within 150 km of the place it stands for.

    ecs_unbound.py --meridian .build/debug/meridian [--db GeoLite2-City.mmdb]
    ecs_unbound.py --list | --group GROUP | --case GROUP/CASE | -k PATTERN

The cases, by group: database (each client located where it stands, the resolver's and the
clients' nearest data centers), direct (meridian's scope for each first query equals gdnsd's;
each client asked directly) and unbound (the settings that keep Unbound on loopback, then each
first query on a fresh Unbound cache followed by every client). GeoLite2-City is read from --db,
else $MERIDIAN_GEOLITE2, else Tests/.cache/geolite2 (scripts/fetch-geolite2 puts it there).

Exits 0 when every selected case passes, 1 when one fails (a missing tool fails the cases that
need it, naming its Debian package).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dns.edns
import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import maxminddb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Differential"))
import servers  # noqa: E402
import suite  # noqa: E402
from servers import REPO, Missing, default_meridian, free_port, which  # noqa: E402

FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "routing")
ZONE = "example.com."
NAME = "geo.example.com."

DATACENTERS = {"iad": (38.95, -77.45), "dub": (53.35, -6.26), "nrt": (35.77, 140.39),
               "gru": (-23.43, -46.47), "fra": (50.03, 8.57)}
ANSWER = {"iad": "192.0.2.1", "dub": "192.0.2.2", "nrt": "192.0.2.3", "gru": "192.0.2.4", "fra": "192.0.2.5"}

# Unbound sends its queries from here; geo.yaml places 127.0.0.3/32 in São Paulo (-23.55, -46.63).
RESOLVER = "127.0.0.3"
RESOLVER_PLACE = (-23.55, -46.63)

# Later clients, as the ECS their stub sends, and where they are.
CLIENTS = [
    ("1.0.16.0/24", "Tokyo", (35.68, 139.69)),
    ("81.2.69.0/24", "London", (51.51, -0.13)),
    ("1.202.0.0/24", "Beijing", (39.90, 116.40)),
    ("80.81.192.0/24", "Frankfurt", (50.11, 8.68)),
    ("52.0.0.0/24", "Ashburn, Virginia", (39.04, -77.49)),
    ("87.32.0.0/24", "Dublin", (53.35, -6.26)),
]

# First queries whose ECS cannot be located. None: the stub sends no ECS and Unbound adds one
# from the stub's address (127.0.0.1, max-client-subnet-ipv4 24: 127.0.0.0/24).
FIRST = [
    ("10.1.2.0/24", "private 10/8"),
    ("100.64.7.0/24", "shared address space (CGNAT) 100.64/10"),
    ("127.0.0.0/24", "loopback 127/8"),
    (None, "no ECS from the stub (Unbound sends 127.0.0.0/24 from its address)"),
]

# The ECS meridian receives for each first query (what gdnsd is asked too).
AS_SENT = {None: "127.0.0.0/24"}

# Every IPv4 address outside 127.0.0.0/8, as Unbound netblocks: nothing may be queried there.
NOT_LOOPBACK = ["0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/4", "112.0.0.0/5", "120.0.0.0/6",
                "124.0.0.0/7", "126.0.0.0/8", "128.0.0.0/1"]

def km(a, b):
    r, p = 6371.0088, math.pi / 180
    h = math.sin((b[0] - a[0]) * p / 2) ** 2 + math.cos(a[0] * p) * math.cos(b[0] * p) * math.sin((b[1] - a[1]) * p / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def nearest(loc):
    return min(DATACENTERS, key=lambda dc: km(loc, DATACENTERS[dc]))


class Answer:
    """An A response: addresses, rcode, and the ECS option (address/source/scope) if any."""

    def __init__(self, r):
        self.rcode = r.rcode()
        self.addresses = sorted(rr.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A for rr in rrset)
        self.ecs = next((o for o in r.options if isinstance(o, dns.edns.ECSOption)), None)

    @property
    def scope(self):
        return None if self.ecs is None else self.ecs.scopelen

    def __repr__(self):
        ecs = "no ECS" if self.ecs is None else f"ECS {self.ecs.address}/{self.ecs.srclen}/{self.ecs.scopelen}"
        return f"rcode {self.rcode} {self.addresses} {ecs}"


def ask(port, ecs=None, source=None, name=NAME, rdtype="A"):
    """One UDP query to 127.0.0.1:port, with ECS `ecs` ("a.b.c.d/n") when given, from `source`."""
    options = [dns.edns.ECSOption.from_text(ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232, options=options)
    last = None
    for _ in range(3):
        try:
            return Answer(dns.query.udp(q, "127.0.0.1", port=port, timeout=3, source=source))
        except dns.exception.Timeout as e:  # a resolver may take a moment on its first miss
            last = e
    raise RuntimeError(f"no answer from 127.0.0.1:{port} for {name} ecs={ecs}: {last!r}")


def launch(name, tmp, port, argv, timeout):
    """servers.launch in tmp, ready once it answers SOA for the zone over UDP and TCP."""
    return servers.launch(name, tmp, port, argv, [ZONE], timeout=timeout, cwd=tmp)


def start_meridian(binary, db):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-ecs-")
    shutil.copyfile(os.path.join(FIXTURES, "example.com.zone"), os.path.join(tmp, "example.com.zone"))
    with open(os.path.join(FIXTURES, "geo.yaml")) as f:
        routing = f.read().replace("@DB@", db)
    with open(os.path.join(tmp, "meridian.yaml"), "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nworkers: 1\n')
        # Every query logged: shows the ECS each query from Unbound carried.
        f.write(f'query-log: {{ path: "{tmp}/queries.log", sample: 1 }}\n')
        f.write(f"zones:\n  - origin: {ZONE}\n    file: example.com.zone\n")
        f.write(routing)
    # Loading GeoLite2 takes a debug build about 10 s of CPU, far longer on a busy machine.
    return launch("meridian", tmp, port, [binary, "serve", "--config", os.path.join(tmp, "meridian.yaml")], 180)


def unbound_config(tmp, port, meridian_port):
    """Unbound without validation, querying only loopback from the "São Paulo" resolver address."""
    return servers.unbound_config(tmp, port, [(ZONE, meridian_port)], "subnetcache iterator", outgoing=RESOLVER,
                                  extra=[f"do-not-query-address: {n}" for n in NOT_LOOPBACK])


def checkconf(conf, check):
    """unbound-checkconf: no errors, and the settings that keep every packet on loopback."""
    tool = which("unbound-checkconf", "unbound")
    r = subprocess.run([tool, conf], capture_output=True, text=True)
    check(r.returncode == 0, f"unbound-checkconf accepts the config ({r.stdout.strip()} {r.stderr.strip()})")

    def option(name):
        out = subprocess.run([tool, "-o", name, conf], capture_output=True, text=True)
        return out.stdout.split()

    check(option("outgoing-interface") == [RESOLVER], f"outgoing-interface is {RESOLVER} only: {option('outgoing-interface')}")
    check(option("do-ip6") == ["no"], "do-ip6: no")
    check(sorted(option("do-not-query-address")) == sorted(NOT_LOOPBACK),
          f"do-not-query-address covers all of IPv4 outside 127/8: {option('do-not-query-address')}")
    check(option("module-config") == ["subnetcache", "iterator"], f"module-config: {option('module-config')}")
    check(option("send-client-subnet") == ["127.0.0.1"], f"send-client-subnet: {option('send-client-subnet')}")


def start_unbound(meridian_port, check=None):
    """A fresh Unbound in front of meridian; with `check`, its config is verified first."""
    unbound = which("unbound", "unbound")
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-unbound-")
    conf = unbound_config(tmp, port, meridian_port)
    if check is not None:
        checkconf(conf, check)
    return launch("unbound", tmp, port, [unbound, "-d", "-c", conf], 20)


def start_gdnsd(db):
    gdnsd = which("gdnsd", "gdnsd")
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-gdnsd-")
    for d in ("zones", "run", "state"):
        os.makedirs(os.path.join(tmp, d))
    coords = ", ".join(f"{dc} => [{lat}, {lon}]" for dc, (lat, lon) in DATACENTERS.items())
    dcmap = ", ".join(f"{dc} => {ip}" for dc, ip in ANSWER.items())
    with open(os.path.join(tmp, "config"), "w") as f:
        f.write(f"""options => {{
  listen => [ 127.0.0.1:{port} ]
  run_dir => {tmp}/run
  state_dir => {tmp}/state
}}
plugins => {{
  geoip => {{
    maps => {{
      m => {{
        geoip2_db => {db}
        datacenters => [{", ".join(DATACENTERS)}]
        auto_dc_coords => {{ {coords} }}
        auto_dc_limit => 1
      }}
    }}
    resources => {{ geo => {{ map => m, dcmap => {{ {dcmap} }} }} }}
  }}
}}
""")
    with open(os.path.join(tmp, "zones", ZONE.rstrip(".")), "w") as f:
        f.write("@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 NS ns1\nns1 3600 A 192.0.2.53\n"
                "geo 60 DYNA geoip!geo\n")
    return launch("gdnsd", tmp, port, [gdnsd, "-c", tmp, "start"], 60)


def logged(meridian, since):
    """The query-log lines of meridian after line `since`, as dicts (the log is written after each batch)."""
    time.sleep(0.2)
    try:
        with open(os.path.join(meridian.tmp, "queries.log")) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines[since:] if line.strip()]


def geolite2(path=None):
    """--db, else $MERIDIAN_GEOLITE2, else Tests/.cache/geolite2/GeoLite2-City.mmdb; Missing when
    absent (nothing is downloaded here: scripts/fetch-geolite2 does that, once)."""
    path = path or os.environ.get("MERIDIAN_GEOLITE2") or os.path.join(REPO, "Tests", ".cache", "geolite2", "GeoLite2-City.mmdb")
    if not (os.path.isfile(path) and os.path.getsize(path) > 0):
        raise Missing(f"GeoLite2-City not found at {path}: run scripts/fetch-geolite2")
    return path


def expected_of(db):
    """Each client's nearest data center, from the database; None for a client it cannot locate."""
    reader = maxminddb.open_database(db)
    out = {}
    for ecs, place, near in CLIENTS:
        rec, plen = reader.get_with_prefix_len(ecs.split("/")[0])
        loc = ((rec or {}).get("location") or {})
        out[ecs] = (nearest((loc["latitude"], loc["longitude"])) if "latitude" in loc else None,
                    (loc.get("latitude"), loc.get("longitude")), plen)
    return out


def located(ecs, place, near):
    def case(check, fx):
        dc, where, plen = fx.located[ecs]
        if check(dc is not None, f"{ecs} ({place}) has a location in the database (/{plen})"):
            check(km(where, near) < 150, f"{ecs} is in {place} per the database: {where}")
            check(True, f"{ecs} {place}: nearest {dc} ({ANSWER[dc]})")
    return case


def resolver_nearest(check, fx):
    check(fx.resolver_dc == "gru", f"the resolver {RESOLVER} (São Paulo) is nearest gru, got {fx.resolver_dc}")


def clients_spread(check, fx):
    expected = fx.expected
    check(len(set(expected.values()) - {fx.resolver_dc}) >= 4,
          f"the clients reach four data centers other than the resolver's: {sorted(set(expected.values()))}")


def first_scope(ecs, what):
    def case(check, fx):
        # gdnsd answers its default data center for unlocated addresses, meridian the resolver's
        # (RFC 7871 §7.2.1: "The specific logic that an Authoritative Nameserver uses to choose a
        # tailored response is not in the scope of this document."); the scope must agree.
        sent = AS_SENT.get(ecs, ecs)
        m = ask(fx.meridian.port, sent, source=RESOLVER)
        g = ask(fx.gdnsd.port, sent, source=RESOLVER)
        check(m.addresses == [ANSWER[fx.resolver_dc]], f"{what}: meridian locates the resolver: {m}")
        check(m.scope is not None and m.scope > 0 and m.scope == g.scope,
              f"{what}: meridian scope {m.scope} == gdnsd scope {g.scope} (never 0): meridian {m}, gdnsd {g}")
    return case


def direct(ecs, place):
    def case(check, fx):
        m = ask(fx.meridian.port, ecs, source=RESOLVER)
        check(m.addresses == [ANSWER[fx.expected[ecs]]] and (m.scope or 0) > 0, f"direct {place}: {m}")
    return case


def unbound_config_case(check, fx):
    unbound = start_unbound(fx.meridian.port, check)
    unbound.stop()


def through_unbound(ecs, what):
    def case(check, fx):
        meridian, expected, resolver_dc = fx.meridian, fx.expected, fx.resolver_dc
        unbound = start_unbound(meridian.port)
        try:
            before = len(logged(meridian, 0))
            first = ask(unbound.port, ecs)
            sent = [q for q in logged(meridian, before) if q.get("qname") == NAME and q.get("client") == RESOLVER]
            check(len(sent) >= 1 and all(q.get("ecs") == AS_SENT.get(ecs, ecs) for q in sent),
                  f"{what}: Unbound queried meridian from {RESOLVER} with ECS {AS_SENT.get(ecs, ecs)}: {sent}")
            check(first.rcode == 0 and first.addresses == [ANSWER[resolver_dc]],
                  f"{what}: first query answered from the resolver's place ({resolver_dc}): {first}")
            if ecs is not None:
                check(first.scope is not None and first.scope > 0, f"{what}: Unbound passes on a non-zero scope: {first}")
            for c, place, _ in CLIENTS:
                r = ask(unbound.port, c)
                check(r.rcode == 0 and r.addresses == [ANSWER[expected[c]]],
                      f"after {what}: {place} {c} gets {expected[c]} ({ANSWER[expected[c]]}): {r}")
            again = ask(unbound.port, ecs)
            check(again.addresses == [ANSWER[resolver_dc]], f"{what} again: still {resolver_dc}: {again}")
            check(unbound.alive(), "unbound still running" + ("" if unbound.alive() else ":\n" + unbound.log_text()))
        finally:
            unbound.stop()
    return case


C = suite.Case
CASES = ([C("database", f"{place} located", located(ecs, place, near)) for ecs, place, near in CLIENTS]
         + [C("database", "the resolver is nearest gru", resolver_nearest),
            C("database", "four other data centers", clients_spread)]
         + [C("direct", f"scope as gdnsd: {what}", first_scope(ecs, what)) for ecs, what in FIRST]
         + [C("direct", f"direct {place}", direct(ecs, place)) for ecs, place, _ in CLIENTS]
         + [C("unbound", "config keeps every packet on loopback", unbound_config_case)]
         + [C("unbound", what, through_unbound(ecs, what)) for ecs, what in FIRST])


def main():
    ap = suite.parser(__doc__.split("\n")[0])
    ap.add_argument("--db", help="GeoLite2-City.mmdb (default: $MERIDIAN_GEOLITE2, else Tests/.cache/geolite2)")
    args = ap.parse_args()
    binary = os.path.abspath(args.meridian or default_meridian())

    def meridian():
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise Missing(f"meridian binary not found at {binary}: run `swift build` first")
        return start_meridian(binary, fx.db)

    fx = suite.Fixtures(
        db=lambda: geolite2(args.db),
        located=lambda: expected_of(fx.db),
        expected=lambda: {ecs: dc for ecs, (dc, _, _) in fx.located.items()},
        resolver_dc=lambda: nearest(RESOLVER_PLACE),
        meridian=meridian,
        gdnsd=lambda: start_gdnsd(fx.db),
    )

    def after(check, fx):
        if any(getattr(s, "name", "") == "meridian" for s in fx.started()):
            m = fx.meridian
            check(m.alive(), "meridian still running" + ("" if m.alive() else ":\n" + m.log_text()))

    return suite.run("ecs_unbound", CASES, args, fx, after)


if __name__ == "__main__":
    sys.exit(main())
