#!/usr/bin/python3
"""A UDP burst: 50,000 queries offered at about 120k QPS, to meridian and to NSD.

    /usr/bin/python3 Tests/Network/burst.py [--meridian PATH] [--servers meridian,nsd]
    /usr/bin/python3 Tests/Network/burst.py --list | --case burst/meridian | -k nsd

dnsperf sends the query file once (-n 1; -l bounds the run), at most 120,000 queries a
second (-Q), from 32 sockets (-c) on two threads (-T), with up to 20,000 queries
outstanding (-q) so the offered rate is not held back by the answers: the queries arrive
faster than one worker answers them and wait in the server's socket receive buffers, where
the kernel drops what does not fit. A query unanswered after 2 s (-t) is lost.

Each server runs with --workers workers (meridian `workers`, NSD `server-count`; default 2,
meridian's default on two cores), its other settings at their defaults, on its own loopback
port, one after the other. Prints one JSON object per server on stdout: queries
sent, completed, their ratio, the datagrams the kernel dropped at the server's sockets
(/proc/net/udp and udp6 `drops`) and dnsperf's run time. Each server is a case (group burst),
which passes when the burst ran and was measured; it asserts no ratio: the end-to-end test
(NetworkHardeningTests) asserts meridian's; NSD's is context.
Every packet goes to 127.0.0.1.
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Differential"))

import servers  # noqa: E402
import suite  # noqa: E402

ZONE_FILE = os.path.join(servers.REPO, "zones", "example.com.zone")
QUERIES = 50_000
# The rate the burst is offered at: the measurement (NSD answered all of it, meridian
# 43 % before its socket buffers were sized).
OFFERED_QPS = 120_000


def query_file(path):
    """QUERIES lines: existing names and types of example.com., and names that do not exist."""
    rng = random.Random(53)
    existing = ["example.com SOA", "example.com NS", "example.com MX", "www.example.com A",
                "www.example.com AAAA", "mail.example.com A", "ftp.example.com A"]
    with open(path, "w") as f:
        for i in range(QUERIES):
            f.write(rng.choice(existing) + "\n" if i % 5 else f"nx{i}.example.com A\n")


def socket_drops(port):
    """Datagrams dropped so far at the UDP sockets bound to `port` (last column of /proc/net/udp*)."""
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1].rsplit(":", 1)[1] == f"{port:04X}":
                    total += int(fields[-1])
    return total


def burst(dnsperf, server, queries):
    before = socket_drops(server.port)
    cmd = [dnsperf, "-s", "127.0.0.1", "-p", str(server.port), "-d", queries, "-n", "1", "-l", "20",
           "-Q", str(OFFERED_QPS), "-q", "20000", "-c", "32", "-T", "2", "-t", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr

    def number(label):
        m = re.search(label + r":\s+([0-9.]+)", out)
        if not m:
            raise RuntimeError(f"dnsperf printed no '{label}' (status {r.returncode}):\n{out}")
        return float(m.group(1))

    sent, completed = int(number("Queries sent")), int(number("Queries completed"))
    return {"server": server.name, "sent": sent, "completed": completed,
            "ratio": completed / sent if sent else 0.0, "socket_drops": socket_drops(server.port) - before,
            "run_time": number(r"Run time \(s\)")}


def start_meridian(binary, zones, workers):
    """meridian on 127.0.0.1 only (dnsperf queries that address), with `workers` UDP workers."""
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise servers.Missing(f"meridian binary not found at {binary}: run `swift build` first")
    port = servers.free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-burst-mer-")
    _, zs = servers._zone_copy(tmp, zones)
    lines = [f'listen: ["127.0.0.1:{port}"]', f"workers: {workers}", "zones:"]
    for origin, path in zs:
        lines += [f"  - origin: {origin}", f"    file: {path}"]
    return servers._launch("meridian", tmp, port, zones, "meridian.yaml", lines,
                           lambda conf: [binary, "serve", "--config", conf])


def start_nsd(zones, workers):
    """NSD on 127.0.0.1 only, as servers.start_nsd configures it, with `workers` server processes
    and its socket buffers at its defaults."""
    nsd = servers.which("nsd", "nsd")
    port = servers.free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-burst-nsd-")
    zdir, zs = servers._zone_copy(tmp, zones)
    lines = ["server:", f"    ip-address: 127.0.0.1@{port}", f"    port: {port}", f"    server-count: {workers}",
             '    username: ""', '    chroot: ""', f"    zonesdir: {zdir}", '    database: ""',
             f"    zonelistfile: {tmp}/zone.list", f"    pidfile: {tmp}/nsd.pid", f"    xfrdfile: {tmp}/xfrd.state",
             f"    xfrdir: {tmp}", f"    logfile: {tmp}/nsd.log", "    verbosity: 1",
             # Debian's nsd rate-limits by default: a burst from one address would trip it.
             "    rrl-ratelimit: 0", "remote-control:", "    control-enable: no"]
    for origin, path in zs:
        lines += ["zone:", f"    name: {origin}", f"    zonefile: {path}"]
    return servers._launch("nsd", tmp, port, zones, "nsd.conf", lines, lambda conf: [nsd, "-d", "-c", conf])


def main():
    ap = suite.parser(__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="meridian,nsd", help="the cases to run, in order (comma-separated)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    meridian = args.meridian or servers.default_meridian()
    zones = [("example.com.", ZONE_FILE)]
    names = args.servers.split(",")
    unknown = [n for n in names if n not in ("meridian", "nsd")]
    if unknown:
        sys.exit(f"unknown server {unknown[0]}")
    with tempfile.TemporaryDirectory(prefix="meridian-burst-") as tmp:
        queries = os.path.join(tmp, "queries.txt")
        query_file(queries)

        def measure(name):
            def case(check, fx):
                server = start_meridian(meridian, zones, args.workers) if name == "meridian" else start_nsd(zones, args.workers)
                try:
                    # One JSON object on a line of its own: NetworkHardeningTests reads it.
                    print(json.dumps(burst(fx.dnsperf, server, queries)), flush=True)
                    if name == "meridian":
                        # The buffer sizes the kernel granted, as meridian logged them.
                        lines = [l for l in server.log_text().splitlines() if "UDP socket buffers" in l]
                        servers.eprint("meridian: " + (lines[0] if lines else "(no buffer line in its log)"))
                finally:
                    server.stop()
            return case

        fx = suite.Fixtures(dnsperf=lambda: servers.which("dnsperf", "dnsperf"))
        return suite.run("burst", [suite.Case("burst", name, measure(name)) for name in names], args, fx)


if __name__ == "__main__":
    sys.exit(main())
