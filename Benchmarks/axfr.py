#!/usr/bin/env python3
"""Outgoing AXFR of a generated 1,000,000-record zone to a Knot secondary, from three primaries:
Meridian, Knot and NSD, interleaved in one run (issue 10, item 6).

  Benchmarks/axfr.py                        # 3 rounds, 1,000,000 records, medians
  Benchmarks/axfr.py --rounds 1 --records 100000 --primaries meridian,knotd

The three primaries are started once, each on its own free 127.0.0.1 port with its config in a
temp dir, serve the same zone file (gen-zone.py --records N) and allow transfers to 127.0.0.1.
Then, round by round, in a rotating order, a fresh Knot secondary (no journal, no zone file, so
every transfer is a whole AXFR) is started with each primary as its master, and measured:

  time        from exec() of the secondary to its first authoritative answer with the zone's
              SOA, polled over UDP every 10 ms (start-up + SOA query + AXFR + zone build), and
              Knot's own "AXFR, incoming ... finished, X seconds" (the transfer alone);
  secondary   the secondary's peak resident memory (/proc/PID/status VmHWM) then;
  primary     the primary's peak resident memory during the transfer: its VmHWM is reset to
              the current RSS (echo 5 > /proc/PID/clear_refs) just before the secondary starts,
              read after the transfer, and shown with the RSS before it (so the increase is
              what the transfer cost). For NSD the process serving TCP is a forked server
              child: the maximum over its process tree is taken.
  check       the secondary's SOA serial equals the primary's, and its AXFR record count
              (kdig, every round) equals the primary's.

The secondary is stopped after each transfer. Results: Benchmarks/out/axfr-<timestamp>/
(results.json, summary.txt; gitignored). Every packet stays on 127.0.0.1.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

ORIGIN = "bench.example."


class KnotPrimary(B.Knot):
    name = "knotd"

    def configure(self):
        super().configure()
        conf = os.path.join(self.dir, "knot.conf")
        text = open(conf).read()
        text = text.replace("template:", "acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\ntemplate:")
        text += "    acl: xfr\n"
        open(conf, "w").write(text)


class NSDPrimary(B.NSD):
    name = "nsd"

    def configure(self):
        super().configure()
        with open(os.path.join(self.dir, "nsd.conf"), "a") as f:
            f.write("    provide-xfr: 127.0.0.1 NOKEY\n")


class MeridianPrimary(B.Meridian):
    name = "meridian"

    def configure(self):
        super().configure()
        with open(os.path.join(self.dir, "meridian.yaml"), "a") as f:
            f.write("    transfer: { allow: [127.0.0.1/32] }\n")


PRIMARIES = {"meridian": MeridianPrimary, "knotd": KnotPrimary, "nsd": NSDPrimary}


class KnotSecondary(B.Server):
    name = "secondary"

    def __init__(self, workdir, port, primary_port, tag):
        self.primary_port = primary_port
        self.name = "secondary-" + tag
        super().__init__(workdir, port, "/dev/null", ORIGIN, workers=1)

    def configure(self):
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write("""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/db"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: 127.0.0.1@{primary}
acl:
  - id: check
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{d}/db"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: none
zone:
  - domain: {origin}
    master: primary
    acl: check
""".format(d=self.dir, port=self.port, primary=self.primary_port, origin=self.origin))

    def command(self):
        return ["knotd", "-c", os.path.join(self.dir, "knot.conf")]


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(root):
    for pid in B.process_tree(root):
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError as e:
            B.log("axfr: cannot reset VmHWM of %d: %s" % (pid, e))


def tree_max(root, key):
    return max((status_kb(pid, key) for pid in B.process_tree(root)), default=0)


def axfr_count(port):
    """Records in an AXFR from 127.0.0.1:port (the closing SOA included), by kdig."""
    p = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+noall", "+answer", ORIGIN, "AXFR"],
                       capture_output=True, text=True, timeout=600)
    return sum(1 for line in p.stdout.splitlines() if line and not line.startswith(";"))


def soa_serial(port):
    p = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+short", ORIGIN, "SOA"],
                       capture_output=True, text=True, timeout=30)
    f = p.stdout.split()
    return int(f[2]) if len(f) >= 3 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--primaries", default="meridian,knotd,nsd")
    default_meridian = B.DEFAULT_MERIDIAN if os.access(B.DEFAULT_MERIDIAN, os.X_OK) else \
        os.path.join(B.REPO, ".build", "release", "meridian")
    ap.add_argument("--meridian", default=default_meridian, help="a release build (default %(default)s)")
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--no-count", action="store_true", help="skip the kdig record count of each copy")
    ap.add_argument("--out", default=os.path.join(B.HERE, "out"))
    args = ap.parse_args()
    B.install_signal_handlers()
    B.Meridian.binary = os.path.abspath(args.meridian)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, "axfr-" + stamp)
    os.makedirs(outdir, exist_ok=True)
    work = B.Workdir()
    primaries, running, results = {}, [], []
    names = [n.strip() for n in args.primaries.split(",") if n.strip()]
    expected = {}
    try:
        zone = os.path.join(work.path, "bench-%d.zone" % args.records)
        subprocess.run([sys.executable, os.path.join(B.HERE, "gen-zone.py"), "--records", str(args.records),
                        "-o", zone], check=True)
        used = set()
        for name in names:
            port = B.free_port(used)
            used.add(port)
            p = PRIMARIES[name](work.path, port, zone, ORIGIN, workers=2)
            if not p.available():
                raise SystemExit("axfr: %s not found" % p.command()[0])
            p.start()
            running.append(p)
            t = p.wait_ready(args.timeout)
            primaries[name] = p
            expected[name] = (soa_serial(p.port), None if args.no_count else axfr_count(p.port))
            B.log("axfr: primary %-8s loaded in %.1f s on port %d, serial %s, %s records by AXFR" % (
                name, t, port, expected[name][0], expected[name][1]))
        for rnd in range(1, args.rounds + 1):
            order = names[(rnd - 1) % len(names):] + names[:(rnd - 1) % len(names)]
            for name in order:
                p = primaries[name]
                time.sleep(1.0)
                rss_before = tree_max(p.proc.pid, "VmRSS")
                reset_hwm(p.proc.pid)
                port = B.free_port(used)
                s = KnotSecondary(work.path, port, p.port, "%s-%d" % (name, rnd))
                running.append(s)
                s.start()
                wall = s.wait_ready(args.timeout, interval=0.01)
                hwm_secondary = status_kb(s.proc.pid, "VmHWM")
                hwm_primary = tree_max(p.proc.pid, "VmHWM")
                log = open(s.logfile, errors="replace").read()
                m = re.search(r"AXFR, incoming, remote [^,]+, finished, ([0-9.]+) seconds, (\d+) messages, (\d+) bytes", log)
                serial = soa_serial(port)
                count = None if args.no_count else axfr_count(port)
                ok = serial == expected[name][0] and (args.no_count or count == expected[name][1])
                r = {"primary": name, "round": rnd, "wall_s": wall,
                     "knot_axfr_s": float(m.group(1)) if m else None,
                     "messages": int(m.group(2)) if m else None, "bytes": int(m.group(3)) if m else None,
                     "secondary_hwm_mb": hwm_secondary / 1024.0,
                     "primary_rss_before_mb": rss_before / 1024.0, "primary_hwm_mb": hwm_primary / 1024.0,
                     "serial": serial, "records": count, "identical_count": ok}
                results.append(r)
                B.log("axfr: round %d %-8s -> knot: %.2f s (Knot's AXFR %s s, %s messages), secondary HWM %.0f MB, "
                      "primary RSS %.0f -> HWM %.0f MB, %s records %s" % (
                          rnd, name, wall, r["knot_axfr_s"], r["messages"], r["secondary_hwm_mb"],
                          r["primary_rss_before_mb"], r["primary_hwm_mb"], count, "ok" if ok else "MISMATCH"))
                with open(os.path.join(outdir, "secondary-%s-%d.log" % (name, rnd)), "w") as f:
                    f.write(s.log_tail(50))
                s.stop()
                running.remove(s)
                if not ok:
                    raise SystemExit("axfr: the secondary's copy from %s differs: serial %s records %s, expected %s" % (
                        name, serial, count, expected[name]))
    finally:
        for s in running:
            s.stop()
        work.cleanup()

    versions = {n: B.server_version(n) for n in names}
    head = "%d records, %d rounds (medians), %d CPUs, %s, repo %s; %s" % (
        args.records, args.rounds, os.cpu_count(), datetime.datetime.now().isoformat(timespec="seconds"),
        B.git_revision(), ", ".join("%s %s" % kv for kv in versions.items()))
    lines = [head,
             "| primary → Knot | time to serve (s) | Knot's AXFR (s) | messages | secondary peak (MB) | primary RSS before (MB) | primary peak during (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        rs = [r for r in results if r["primary"] == name]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs if r[k] is not None)  # noqa: E731
        lines.append("| %s | %.2f | %.2f | %d | %.0f | %.0f | %.0f |" % (
            name, med("wall_s"), med("knot_axfr_s"), med("messages"), med("secondary_hwm_mb"),
            med("primary_rss_before_mb"), med("primary_hwm_mb")))
    table = "\n".join(lines)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"args": vars(args), "git": B.git_revision(), "versions": versions, "results": results}, f, indent=1)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(table + "\n")
    print(table)
    print("raw results: %s" % outdir)


if __name__ == "__main__":
    main()
