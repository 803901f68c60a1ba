#!/usr/bin/env python3
"""Load time and resident memory for a generated 1,000,000-record zone.

  Benchmarks/load.sh                     # meridian, knotd, nsd; 1,000,000 records
  Benchmarks/load.sh --servers knotd,nsd,gdnsd --records 200000 --repeat 3

For each server, one after the other (never two at once), on a free
127.0.0.1 port with a config in a temp dir:

  load time  = from exec() of the server to the first authoritative NOERROR
               answer with the zone's SOA, polled over UDP every 10 ms. This
               is the whole start-up a client sees:
                 meridian: parse the zone file (ldns), compile the snapshot,
                           open sockets;
                 knotd:    start, then load the zone file in a background
                           worker (it answers SERVFAIL for the zone until
                           done; only the SOA answer counts);
                 nsd:      read and parse the zone text file in the main
                           process (no nsd.db: database: ""), then fork the
                           server processes that answer;
                 gdnsd:    parse the zone, then open sockets.
  memory     = /proc/PID/status VmRSS (resident now) and VmHWM (peak
               resident) 1 s after the first answer, for the main process, and
               the sum of Pss (/proc/PID/smaps_rollup) over the whole process
               tree, which counts memory shared between forked processes
               (nsd) once.
  load CPU   = utime+stime of the process tree at that moment.

With --signed (meridian and knotd only; dnssec.py's configurations):
  meridian  `dnssec:` on the zone with a CSK made by `meridian keygen`
            (ECDSA P-256), signed online at load;
  knotd     dnssec-signing: on, a policy with ecdsap256sha256, a CSK
            (single-type-signing), NSEC, signing-threads 2 (its keys made
            at the first load);
  load time = until the SOA asked with DO=1 is answered with its RRSIG.
  --also-unsigned loads the same servers unsigned too, interleaved, in the
  same run (rows without "+dnssec").

  flock /tmp/meridian-build.lock /usr/bin/python3 Benchmarks/load.py --signed --also-unsigned \
      --servers meridian,knotd --meridian /work/bench-tree/.build/release/meridian

Results go to Benchmarks/out/load-<timestamp>/ (gitignored). The zone is
generated into the temp dir and removed afterwards.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

ORIGIN = "bench.example."


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="meridian,knotd,nsd", help="comma-separated (default meridian,knotd,nsd)")
    ap.add_argument("--meridian", default=B.DEFAULT_MERIDIAN)
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=1, help="loads per server, interleaved (default 1)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600.0, help="give up on a server after this many seconds")
    ap.add_argument("--out", default=os.path.join(B.HERE, "out"))
    ap.add_argument("--signed", action="store_true",
                    help="sign the zone at load (meridian, knotd); load time until the SOA with DO=1 has its RRSIG")
    ap.add_argument("--also-unsigned", action="store_true", help="with --signed: also load each server unsigned")
    args = ap.parse_args()
    B.install_signal_handlers()
    B.Meridian.binary = os.path.abspath(args.meridian)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, "load-" + stamp)
    os.makedirs(outdir, exist_ok=True)
    work = B.Workdir()
    results = []
    server = None
    try:
        zone = os.path.join(work.path, "bench-%d.zone" % args.records)
        subprocess.run([sys.executable, os.path.join(B.HERE, "gen-zone.py"), "--records", str(args.records),
                        "-o", zone], check=True)
        zone_mb = os.path.getsize(zone) / 1e6
        names = [n.strip() for n in args.servers.split(",") if n.strip()]
        runs = [(n, False) for n in names]
        if args.signed:
            import dnssec as D  # dnssec.py: the signed meridian and knotd
            signed_cls = {"meridian": D.SignedMeridian, "knotd": D.SignedKnot}
            runs = [(n, True) for n in names if n in signed_cls]
            for n in names:
                if n not in signed_cls:
                    B.log("load: --signed: no signed configuration for %s; skipped" % n)
            if args.also_unsigned:
                runs = [x for n, _ in runs for x in ((n, True), (n, False))]
        for rep in range(1, args.repeat + 1):
            for name, signed in runs:
                label = name + ("+dnssec" if signed else "")
                workdir = os.path.join(work.path, label)
                os.makedirs(workdir, exist_ok=True)
                cls = signed_cls[name] if signed else B.SERVERS[name]
                server = cls(workdir, B.free_port(), zone, ORIGIN, workers=args.workers)
                if not server.available():
                    B.log("load: skipping %s: %s not found" % (name, server.command()[0]))
                    server = None
                    continue
                # Drop nothing from the page cache (we cannot, and should not,
                # on a shared machine): the zone file was just written, so every
                # server reads it from the page cache alike.
                server.start()
                try:
                    t = server.wait_ready(args.timeout, signed=signed)
                except RuntimeError as e:
                    B.log("load: %s: %s" % (name, e))
                    server.stop()
                    server = None
                    continue
                time.sleep(1.0)
                mem = B.memory(server.proc.pid)
                cpu = B.cpu_times(server.proc.pid)
                main = mem[0]
                if name == "nsd":
                    # The process we exec'd becomes xfrd; the zone lives in "nsd: main".
                    main = next((m for m in mem if m[1].startswith("nsd: main")), mem[0])
                r = {
                    "server": label, "signed": signed, "rep": rep, "load_s": t,
                    "rss_mb": main[2] / 1024.0, "hwm_mb": main[3] / 1024.0,
                    "tree_pss_mb": sum(m[4] for m in mem) / 1024.0,
                    "tree_rss_mb": sum(m[2] for m in mem) / 1024.0,
                    "processes": [{"pid": m[0], "name": m[1], "rss_kb": m[2], "hwm_kb": m[3], "pss_kb": m[4]} for m in mem],
                    "load_cpu_s": sum(u + s for u, s in cpu.values()),
                }
                results.append(r)
                B.log("load: %-15s %7.2f s to first SOA answer, RSS %7.1f MB, HWM %7.1f MB, tree PSS %7.1f MB, CPU %.2f s" % (
                    label, t, r["rss_mb"], r["hwm_mb"], r["tree_pss_mb"], r["load_cpu_s"]))
                with open(os.path.join(outdir, "server-%s-%d.log" % (label, rep)), "w") as f:
                    f.write(server.log_tail(100))
                server.stop()
                server = None
                time.sleep(1.0)
    finally:
        if server is not None:
            server.stop()
        work.cleanup()

    lines = ["%d records (%.0f MB zone file), %d CPUs, %s, repo %s" % (
        args.records, zone_mb, os.cpu_count(), datetime.datetime.now().isoformat(timespec="seconds"), B.git_revision()),
        "%-15s %10s %10s %10s %12s %10s" % ("server", "load s", "RSS MB", "HWM MB", "tree PSS MB", "CPU s"),
        "-" * 72]
    for name in [n + ("+dnssec" if sg else "") for n, sg in runs]:
        rs = [r for r in results if r["server"] == name]
        if not rs:
            continue
        m = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        lines.append("%-15s %10.2f %10.1f %10.1f %12.1f %10.2f" % (
            name, m("load_s"), m("rss_mb"), m("hwm_mb"), m("tree_pss_mb"), m("load_cpu_s")))
    lines.append("(RSS/HWM: main process, 1 s after the first answer; tree PSS: all processes; medians of %d)" % args.repeat)
    if args.signed:
        lines.append("(+dnssec: load time until the SOA asked with DO=1 is answered with its RRSIG; ECDSA P-256 CSK)")
    table = "\n".join(lines)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"args": vars(args), "git": B.git_revision(), "zone_mb": zone_mb, "results": results}, f, indent=1)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(table + "\n")
    print(table)
    print("raw results: %s" % outdir)


if __name__ == "__main__":
    main()
