#!/usr/bin/env python3
"""Query-rate benchmark: Meridian next to knotd, nsd and gdnsd.

  Benchmarks/run.py                      # default: ~4 minutes
  Benchmarks/run.py --rounds 3 --duration 5 --servers knotd,nsd,gdnsd

What it does:
 1. generates the zone (gen-zone.py, ~10,000 names) and the dnsperf query
    file (gen-queries.py, 80% A/AAAA, 10% NXDOMAIN, 10% other) into the
    output dir, deterministically;
 2. starts every server once, each on its own free 127.0.0.1 port, with
    equivalent configs in a temp dir (2 workers each; nsd with
    rrl-ratelimit: 0 and minimal-responses: yes; gdnsd with
    experimental_no_chain => false; knotd with its defaults);
 3. sanity check with dig: a stratified sample of the query file (every
    category) is asked of each server; rcode, AA and the expected answer
    must be right and the answer sections identical across servers
    (authority/additional differences are listed, not fatal);
 4. one short unmeasured warm-up run per server, then INTERLEAVED measured
    rounds: A B C D, A B C D, ... Each run is one dnsperf invocation of
    --duration seconds. Around each run it reads utime/stime of the server
    (every process of its tree: nsd forks servers) from /proc/PID/stat,
    which are totals over all threads, and divides the increase by the
    queries dnsperf saw answered: µs of user / kernel CPU per query;
 5. prints medians per server and Meridian's ratios to each peer, and writes
    everything raw to Benchmarks/out/run-<timestamp>/ (gitignored).

Servers that are not installed (or a meridian binary that is not built) are
skipped with a warning. Every packet stays on 127.0.0.1; the zone's answer
data are documentation prefixes that are never contacted.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

ORIGIN = "bench.example."


# --------------------------------------------------------------------------
# dig sanity check

def generate_inputs(outdir, names, queries):
    """The zone (gen-zone.py, `names` names), the dnsperf query file (gen-queries.py, `queries`
    queries) and its stratified sample for the sanity check, in outdir: their three paths."""
    zone = os.path.join(outdir, "bench.example.zone")
    qfile = os.path.join(outdir, "queries.txt")
    sample = os.path.join(outdir, "sanity-sample.txt")
    subprocess.run([sys.executable, os.path.join(B.HERE, "gen-zone.py"), "--names", str(names), "-o", zone], check=True)
    subprocess.run([sys.executable, os.path.join(B.HERE, "gen-queries.py"), zone, "-n", str(queries),
                    "-o", qfile, "--sample", sample], check=True)
    return zone, qfile, sample


def dig_batch(port, sample, path):
    with open(path, "w") as f:
        for e in sample:
            f.write("%s %s\n" % (e["qname"], e["qtype"]))
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+norec", "+nocookie", "+noall",
                        "+comments", "+question", "+answer", "+authority", "+additional",
                        "+tries=2", "+time=2", "-f", path],
                       capture_output=True, text=True, timeout=300)
    return parse_dig(r.stdout)


def norm_rr(line):
    p = line.split()
    p[0] = p[0].lower()
    if len(p) > 4:
        p[3] = p[3].upper()
    return " ".join(p)


def parse_dig(text):
    """{(qname, qtype): {rcode, aa, answer, authority, additional}}"""
    res = {}
    cur = None
    section = None
    for line in text.splitlines():
        if "->>HEADER<<-" in line:
            cur = {"rcode": re.search(r"status: (\w+)", line).group(1), "aa": False,
                   "answer": [], "authority": [], "additional": [], "q": None}
            section = None
            continue
        if cur is None:
            continue
        if line.startswith(";; flags:"):
            flags = line[len(";; flags:"):].split(";")[0].split()
            cur["aa"] = "aa" in flags
        elif line.startswith(";; QUESTION SECTION"):
            section = "question"
        elif line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif line.startswith(";; ADDITIONAL SECTION"):
            section = "additional"
        elif line.startswith(";; ") or not line.strip():
            if line.startswith(";; OPT"):
                section = None
            continue
        elif section == "question" and line.startswith(";"):
            p = line[1:].split()
            cur["q"] = (p[0].lower(), p[-1].upper())
            res[cur["q"]] = cur
        elif section in ("answer", "authority", "additional") and not line.startswith(";"):
            cur[section].append(norm_rr(line))
    for v in res.values():
        for k in ("answer", "authority", "additional"):
            v[k] = sorted(v[k])
    return res


def rr_types(rrs):
    return [r.split()[3] for r in rrs]


def expectation_errors(e, got):
    if got is None:
        return ["no answer"]
    errs = []
    if got["rcode"] != e["rcode"]:
        errs.append("rcode %s, expected %s" % (got["rcode"], e["rcode"]))
    if got["aa"] != bool(e["aa"]):
        errs.append("AA=%d, expected %d" % (got["aa"], e["aa"]))
    types = rr_types(got["answer"])
    at = e["atype"]
    if at == "-":
        if types:
            errs.append("answer not empty: %s" % got["answer"])
    elif at not in types:
        errs.append("no %s in answer: %s" % (at, got["answer"]))
    cat = e["cat"]
    if cat == "cname" and "A" not in types:
        errs.append("CNAME chain not followed to an A record: %s" % got["answer"])
    if cat == "wildcard" and not any(r.split()[0] == e["qname"].lower() for r in got["answer"]):
        errs.append("wildcard answer does not carry the query name")
    if cat in ("nx", "nx-below", "nodata") and "SOA" not in rr_types(got["authority"]):
        errs.append("no SOA in authority")
    if cat == "referral":
        if "NS" not in rr_types(got["authority"]):
            errs.append("no NS in authority")
        if not got["additional"]:
            errs.append("no glue in additional")
    return errs


def sanity_check(servers, sample_path, outdir):
    sample = []
    with open(sample_path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cat, qname, qtype, rcode, aa, atype = line.split()
            sample.append({"cat": cat, "qname": qname, "qtype": qtype, "rcode": rcode, "aa": int(aa), "atype": atype})
    results = {}
    report = []
    fatal = []
    for s in servers:
        results[s.name] = dig_batch(s.port, sample, os.path.join(outdir, "sanity-%s.batch" % s.name))
        bad = 0
        for e in sample:
            errs = expectation_errors(e, results[s.name].get((e["qname"].lower(), e["qtype"])))
            if errs:
                bad += 1
                msg = "%s: %s %s (%s): %s" % (s.name, e["qname"], e["qtype"], e["cat"], "; ".join(errs))
                report.append("FAIL " + msg)
                fatal.append(msg)
        report.append("%s: %d/%d sample queries as expected" % (s.name, len(sample) - bad, len(sample)))
    # Cross-server comparison against the first server (knotd when present).
    ref = next((s.name for s in servers if s.name == "knotd"), servers[0].name)
    for s in servers:
        if s.name == ref:
            continue
        diffs = {"answer": 0, "authority": 0, "additional": 0, "flags": 0}
        for e in sample:
            key = (e["qname"].lower(), e["qtype"])
            a, b = results[ref].get(key), results[s.name].get(key)
            if a is None or b is None:
                continue
            if (a["rcode"], a["aa"]) != (b["rcode"], b["aa"]):
                diffs["flags"] += 1
                fatal.append("%s vs %s: %s %s: rcode/AA %s/%s vs %s/%s" % (
                    s.name, ref, *key, b["rcode"], b["aa"], a["rcode"], a["aa"]))
            for sec in ("answer", "authority", "additional"):
                if a[sec] != b[sec]:
                    diffs[sec] += 1
                    line = "%s vs %s: %s %s: %s differs:\n    %s: %s\n    %s: %s" % (
                        s.name, ref, key[0], key[1], sec, s.name, b[sec], ref, a[sec])
                    if sec == "answer":
                        fatal.append(line)
                        report.append("FAIL " + line)
                    else:
                        report.append("note " + line)
        report.append("%s vs %s: differing sections over %d queries: %s" % (
            s.name, ref, len(sample), ", ".join("%s %d" % kv for kv in diffs.items())))
    with open(os.path.join(outdir, "sanity.txt"), "w") as f:
        f.write("\n".join(report) + "\n")
    return report, fatal


# --------------------------------------------------------------------------
# dnsperf runs

def parse_dnsperf(text):
    def num(pattern, cast=float, default=None):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else default
    rcodes = {}
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        for code, n in re.findall(r"(\w+) (\d+) \(", m.group(1)):
            rcodes[code] = int(n)
    return {
        "sent": num(r"Queries sent:\s+(\d+)", int, 0),
        "completed": num(r"Queries completed:\s+(\d+)", int, 0),
        "lost": num(r"Queries lost:\s+(\d+)", int, 0),
        "run_time": num(r"Run time \(s\):\s+([\d.]+)"),
        "qps": num(r"Queries per second:\s+([\d.]+)", float, 0.0),
        "lat_avg": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "lat_min": num(r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)"),
        "lat_max": num(r"max ([\d.]+)\)"),
        "lat_sd": num(r"Latency StdDev \(s\):\s+([\d.]+)"),
        "rcodes": rcodes,
    }


def dnsperf(server, args, queries, duration, logpath, binary=False, extra=()):
    # dnsperf load settings (see --help of this script):
    #  -c clients: 8 UDP sockets (8 source ports). The servers spread load over
    #     their 2 workers with SO_REUSEPORT, which hashes by source address and
    #     port: with 1 client everything would land on one worker.
    #  -q outstanding: at most this many queries in flight (dnsperf default 100;
    #     we use 200 so a short stall in one process does not drain the pipe).
    #  -Q max QPS: unset by default = open loop as fast as dnsperf can go. On
    #     2 cores dnsperf itself needs about one core, so QPS is bounded by the
    #     client and by sharing the CPUs; that is why CPU per query is the
    #     figure that tells servers apart. --qps N runs at a fixed offered load
    #     instead (same load for all servers).
    #  -T 1: one dnsperf thread pair (sender+receiver); more only fight the
    #     server for the 2 cores.
    #  -t 1: a query unanswered after 1 s counts as lost.
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(server.port), "-d", queries,
           "-l", str(duration), "-c", str(args.clients), "-q", str(args.outstanding),
           "-T", str(args.threads), "-t", "1"]
    if args.transport != "udp":
        # -m tcp: each of the -c clients is one TCP connection, kept open for the whole run,
        # with up to -q queries in flight over all of them (pipelined, RFC 7766 §6.2.1.1).
        cmd += ["-m", args.transport]
    if args.qps:
        cmd += ["-Q", str(args.qps)]
    if args.connect_per_query:
        # One query per connection, connect-query-close (the load of resolvers falling back to
        # TCP after TC=1): tcp-connect.py, since dnsperf 2.10's -O num-queries-per-conn=1 paces
        # its reconnections by a 100 ms poll. It prints dnsperf's summary lines.
        if binary or extra or args.qps:
            raise SystemExit("run: --connect-per-query takes a query file of names, without -Q or dnsperf options")
        cmd = [sys.executable, os.path.join(B.HERE, "tcp-connect.py"), "-s", "127.0.0.1", "-p", str(server.port),
               "-d", queries, "-l", str(duration), "-c", str(args.clients), "-t", "1"]
    if binary:
        # -B: queries is a file of length-prefixed raw DNS messages (routing.py:
        # each one carries its own EDNS Client Subnet option).
        cmd.append("-B")
    # extra: more dnsperf options, e.g. ["-D"] (DNSSEC OK bit; dnssec.py).
    cmd += list(extra)
    pid = server.proc.pid
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = B.system_busy()
    cpu0 = B.cpu_times(pid)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    wall = time.monotonic() - t0
    cpu1 = B.cpu_times(pid)
    busy1 = B.system_busy()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(logpath, "w") as f:
        f.write(" ".join(cmd) + "\n" + r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError("dnsperf failed against %s:\n%s%s" % (server.name, r.stdout, r.stderr))
    if server.proc.poll() is not None:
        raise RuntimeError("%s exited during the run; log:\n%s" % (server.name, server.log_tail()))
    res = parse_dnsperf(r.stdout)
    utime, stime = B.cpu_delta(cpu0, cpu1)
    n = max(1, res["completed"])
    client_u = ru1.ru_utime - ru0.ru_utime
    client_s = ru1.ru_stime - ru0.ru_stime
    busy_s = (busy1[0] - busy0[0]) / B.CLK_TCK
    res.update({
        "server": server.name,
        "wall": wall,
        "server_utime_s": utime,
        "server_stime_s": stime,
        "user_us_per_q": utime / n * 1e6,
        "sys_us_per_q": stime / n * 1e6,
        "cpu_us_per_q": (utime + stime) / n * 1e6,
        "dnsperf_cpu_s": client_u + client_s,
        # CPU used by everything else on the machine during the run, in cores
        # (other engineers compiling, ...): a noise indicator.
        "other_cores": max(0.0, (busy_s - utime - stime - client_u - client_s) / wall),
    })
    return res


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def summarize(runs, names, args):
    lines = []
    hdr = "%-9s %10s %9s %10s %10s %10s %7s %8s %6s" % (
        "server", "QPS", "lat µs", "user µs/q", "sys µs/q", "cpu µs/q", "lost%", "other", "runs")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    medians = {}
    for name in names:
        rs = [r for r in runs if r["server"] == name]
        if not rs:
            continue
        m = {
            "qps": med([r["qps"] for r in rs]),
            "lat_us": med([r["lat_avg"] * 1e6 if r["lat_avg"] is not None else None for r in rs]),
            "user_us_per_q": med([r["user_us_per_q"] for r in rs]),
            "sys_us_per_q": med([r["sys_us_per_q"] for r in rs]),
            "cpu_us_per_q": med([r["cpu_us_per_q"] for r in rs]),
            "lost_pct": med([100.0 * r["lost"] / max(1, r["sent"]) for r in rs]),
            "other_cores": med([r["other_cores"] for r in rs]),
            "runs": len(rs),
        }
        medians[name] = m
        lines.append("%-9s %10.0f %9.0f %10.3f %10.3f %10.3f %7.2f %8.2f %6d" % (
            name, m["qps"], m["lat_us"], m["user_us_per_q"], m["sys_us_per_q"], m["cpu_us_per_q"],
            m["lost_pct"], m["other_cores"], m["runs"]))
    lines.append("(medians over interleaved runs; 'other' = cores busy with other work on the machine during the run)")
    ratios = {}
    if "meridian" in medians:
        lines.append("")
        lines.append("Meridian / peer   QPS ratio (paired)   user-CPU/q ratio (paired)   [lower CPU ratio is better]")
        mer = {r["round"]: r for r in runs if r["server"] == "meridian"}
        for name in names:
            if name == "meridian" or name not in medians:
                continue
            peer = {r["round"]: r for r in runs if r["server"] == name}
            common = sorted(set(mer) & set(peer))
            pq = med([mer[k]["qps"] / peer[k]["qps"] for k in common if peer[k]["qps"]])
            pu = med([mer[k]["user_us_per_q"] / peer[k]["user_us_per_q"] for k in common if peer[k]["user_us_per_q"]])
            q = medians["meridian"]["qps"] / medians[name]["qps"] if medians[name]["qps"] else float("nan")
            u = (medians["meridian"]["user_us_per_q"] / medians[name]["user_us_per_q"]
                 if medians[name]["user_us_per_q"] else float("nan"))
            ratios[name] = {"qps": q, "qps_paired": pq, "user_cpu": u, "user_cpu_paired": pu}
            lines.append("  vs %-9s     %5.2fx (%5.2fx)         %5.2fx (%5.2fx)" % (name, q, pq, u, pu))
        if "knotd" in ratios:
            k = ratios["knotd"]
            lines.append("")
            lines.append("Speed bar vs knotd: QPS >= 0.95x: %s (%.2fx); user CPU/query <= knotd: %s (%.2fx)" % (
                "yes" if k["qps"] >= 0.95 else "NO", k["qps"], "yes" if k["user_cpu"] <= 1.0 else "NO", k["user_cpu"]))
    return "\n".join(lines), medians, ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="meridian,knotd,nsd,gdnsd",
                    help="comma-separated, in interleaving order (default: meridian,knotd,nsd,gdnsd)")
    ap.add_argument("--meridian", default=B.DEFAULT_MERIDIAN,
                    help="meridian binary (default: .build-release/release/meridian)")
    ap.add_argument("--baseline", default="",
                    help="an earlier meridian binary, measured as the peer 'baseline' (add it to --servers)")
    ap.add_argument("--meridian-yaml", default="",
                    help="extra top-level YAML for 'meridian' only (not the baseline), e.g. 'rate-limit: {responses-per-second: 10000000}'")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved measured rounds (default 5, min 3 recommended)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per dnsperf run (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured warm-up per server (default 2, 0 = none)")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c (default 8)")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T (default 1)")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp",
                    help="dnsperf -m: udp, or tcp (one pipelined connection per client; default udp)")
    ap.add_argument("--connect-per-query", action="store_true",
                    help="TCP, one query per connection: -c connections at a time, each connect-query-close (tcp-connect.py)")
    ap.add_argument("--qps", type=int, default=0, help="dnsperf -Q: fixed offered load (default 0 = unlimited)")
    ap.add_argument("--workers", type=int, default=2, help="workers/threads/processes per server (default 2)")
    ap.add_argument("--names", type=int, default=10000, help="zone size in names (default 10000)")
    ap.add_argument("--queries", type=int, default=100000, help="lines in the query file (default 100000)")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds of idle between runs (default 1)")
    ap.add_argument("--out", default=os.path.join(B.HERE, "out"), help="output root (default Benchmarks/out)")
    ap.add_argument("--ignore-sanity", action="store_true", help="measure even if the sanity check fails")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temp dir with configs (debugging)")
    args = ap.parse_args()
    B.install_signal_handlers()
    B.Meridian.binary = os.path.abspath(args.meridian)
    B.MeridianBaseline.binary = os.path.abspath(args.baseline) if args.baseline else ""
    B.Meridian.extra_yaml = args.meridian_yaml
    if args.rounds < 3:
        B.log("run: note: %d round(s); medians mean little below 3" % args.rounds)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, "run-" + stamp)
    os.makedirs(outdir, exist_ok=True)
    zone, queries, sample = generate_inputs(outdir, args.names, args.queries)

    work = B.Workdir(keep=args.keep_temp)
    servers = []
    used = set()
    try:
        for name in [n.strip() for n in args.servers.split(",") if n.strip()]:
            cls = B.SERVERS[name]
            port = B.free_port(used)
            used.add(port)
            s = cls(work.path, port, zone, ORIGIN, workers=args.workers)
            if not s.available():
                B.log("run: skipping %s: %s not found%s" % (name, s.command()[0],
                      " (build it: swift build -c release --scratch-path .build-release)" if name == "meridian" else ""))
                continue
            s.start()
            servers.append(s)
        if not servers:
            sys.exit("run: no server available")
        for s in servers:
            t = s.wait_ready(60)
            B.log("run: %-8s pid %d on 127.0.0.1:%d, answering after %.2fs" % (s.name, s.proc.pid, s.port, t))

        report, fatal = sanity_check(servers, sample, outdir)
        for line in report:
            if not line.startswith("note"):
                B.log("sanity: " + line)
        B.log("sanity: details in %s" % os.path.join(outdir, "sanity.txt"))
        if fatal and not args.ignore_sanity:
            sys.exit("run: sanity check failed (%d problems); --ignore-sanity measures anyway" % len(fatal))

        if args.warmup:
            for s in servers:
                dnsperf(s, args, queries, args.warmup, os.path.join(outdir, "warmup-%s.txt" % s.name))
                time.sleep(args.pause)

        runs = []
        total = args.rounds * len(servers)
        for rnd in range(1, args.rounds + 1):
            for s in servers:
                r = dnsperf(s, args, queries, args.duration, os.path.join(outdir, "dnsperf-%s-r%d.txt" % (s.name, rnd)))
                r["round"] = rnd
                runs.append(r)
                B.log("run %2d/%d  round %d  %-8s %9.0f qps  lat %5.0f µs  user %.3f µs/q  sys %.3f µs/q  lost %d  other %.2f cores" % (
                    len(runs), total, rnd, s.name, r["qps"], (r["lat_avg"] or 0) * 1e6, r["user_us_per_q"],
                    r["sys_us_per_q"], r["lost"], r["other_cores"]))
                time.sleep(args.pause)
    finally:
        B.stop_servers(servers, outdir, work)

    names = [s.name for s in servers]
    table, medians, ratios = summarize(runs, names, args)
    versions = {s.name: B.server_version(s.name) for s in servers}
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "versions": versions, "args": vars(args),
        "git": B.git_revision(), "meridian_binary": "%s (built %s)" % (B.Meridian.binary, B.binary_age(B.Meridian.binary)),
        "dnsperf": "-m %s -c %d -q %d -T %d -l %d%s%s" % (
            args.transport, args.clients, args.outstanding, args.threads, args.duration,
            " (tcp-connect.py: one query per connection)" if args.connect_per_query else "",
            " -Q %d" % args.qps if args.qps else ""),
    }
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs, "medians": medians, "ratios": ratios}, f, indent=1)
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        keys = ["round", "server", "qps", "sent", "completed", "lost", "lat_avg", "lat_sd", "run_time", "wall",
                "server_utime_s", "server_stime_s", "user_us_per_q", "sys_us_per_q", "cpu_us_per_q",
                "dnsperf_cpu_s", "other_cores"]
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in runs:
            w.writerow(r)
    head = "%s  %d CPUs  kernel %s  %s  repo %s\nservers: %s\ndnsperf %s, %d interleaved rounds\n" % (
        meta["date"], meta["cpus"], meta["kernel"], meta["host"], meta["git"],
        ", ".join("%s %s" % kv for kv in versions.items()), meta["dnsperf"], args.rounds)
    if "meridian" in versions:
        head += "meridian binary: %s\n" % meta["meridian_binary"]
    rc = "response codes (last round): " + "; ".join(
        "%s %s" % (r["server"], " ".join("%s %.1f%%" % (k, 100.0 * v / max(1, r["completed"])) for k, v in r["rcodes"].items()))
        for r in runs if r["round"] == args.rounds)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(head + "\n" + table + "\n\n" + rc + "\n")
    B.link_latest(outdir, os.path.join(args.out, "latest"))
    print()
    print(head)
    print(table)
    print()
    print(rc)
    print("\nraw results: %s" % outdir)


if __name__ == "__main__":
    main()
