#!/usr/bin/env python3
"""Instructions per query of the query path, counted by callgrind (stable, unlike CPU time).

  Benchmarks/callgrind.py                          # build, then static + geo + weighted + rr (~5 min)
  Benchmarks/callgrind.py --mixes static --runs 2  # repeatability check
  Benchmarks/callgrind.py --annotate 10            # + the top 10 functions of each mix
  Benchmarks/callgrind.py --querybench /tmp/old/querybench   # another build (no build step)

What it does:
 1. builds Benchmarks/QueryPath (querybench) in release into .build-querypath/ (inside
    `flock /tmp/meridian-build.lock`, as every build on the shared machine) and copies the
    binary with `strip --strip-debug`: valgrind 3.19 cannot read the DWARF 5 that swiftc
    writes ("unhandled dwarf2 abbrev form code 0x25", then "Possibly corrupted debuginfo
    file ... Giving up"); the symbol table stays, so profiles keep function names. The Swift
    runtime libraries in /opt/swift carry no debug sections and need nothing;
 2. writes the inputs of the dnsperf benchmarks, with their own generators and settings:
    static: run.py's zone and query file (gen-zone.py --names 10000, gen-queries.py -n 100000)
    and the meridian.yaml benchlib writes for it; geo, weighted, rr: routing.py's zone,
    meridian.yaml (GeoLite2-City, five data centers, three services) and its dnsperf -B files,
    every query with its own ECS subnet (the 100,000 subnets routing.py draws, cached in
    Benchmarks/out/routing-cache/);
 3. per mix, runs `valgrind --tool=callgrind --instr-atstart=no querybench CONFIG QUERIES K`
    for K = 1 and K = 2 (inside the lock): querybench loads everything uninstrumented, makes
    one unmeasured pass, then counts only its K measured passes over the first --limit
    queries (default 10,000) of the file. Instructions per query =
    (Ir(K=2) - Ir(K=1)) / queries, so whatever runs once around the passes drops out;
 4. prints per mix: queries, the checksum of the responses (the same on two builds means
    the same answers), Ir for K=1 and K=2, instructions per query, and the part of them
    inside QueryEngine.respond (callgrind's inclusive count, without querybench's loop and
    argument set-up, about 28 instructions per query); with --annotate N,
    the N functions with the most instructions of the K=2 run (callgrind_annotate, names
    demangled by `swift demangle --simplified`).

Nothing is sent anywhere: querybench calls the engine in-process. Raw callgrind output goes
to Benchmarks/out/callgrind-<timestamp>/ (gitignored).
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402
import routing as RT  # noqa: E402

LOCK = "/tmp/meridian-build.lock"
SCRATCH = os.path.join(REPO, ".build-querypath")
MIXES = ("static", "geo", "weighted", "rr", "static-do", "geo-do")
# The signed mixes: the same zone and queries with DO=1, the zone signed online with one key,
# the Ed25519 key of RFC 8080 §6.1 (Ed25519 signatures are deterministic, so the responses'
# checksum repeats from run to run). Signatures made while answering (NXDOMAIN's NSECs, routed
# answers) are made in the unmeasured pass and found in the cache in the measured ones: the
# figure is the cache-warm cost.
SIGNED = {"static-do": "static", "geo-do": "geo"}
BENCH_KEY_PRIVATE = "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI="
BENCH_KEY_PUBLIC = "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="
# run.py's defaults: zone size in names and query-file length (dnsperf loops over the file).
STATIC_NAMES = 10000
STATIC_QUERIES = 100000
# The port the configurations name: the parser wants one; querybench never opens a socket.
PLACEHOLDER_PORT = 5300
# routing.py's default number of ECS subnets (= queries per file); the cache is keyed by it.
ROUTED_QUERIES = 100000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(strip_to):
    cmd = ["flock", LOCK, "swift", "build", "-c", "release", "--package-path", os.path.join(HERE, "QueryPath"),
           "--scratch-path", SCRATCH, "--product", "querybench"]
    log("callgrind: " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("callgrind: build failed:\n" + "\n".join((r.stdout + r.stderr).splitlines()[-30:]))
    binary = os.path.join(SCRATCH, "release", "querybench")
    subprocess.run(["strip", "--strip-debug", "-o", strip_to, binary], check=True)
    return strip_to


def static_inputs(d):
    os.makedirs(d, exist_ok=True)
    zone = os.path.join(d, "bench.example.zone")
    queries = os.path.join(d, "queries.txt")
    subprocess.run([sys.executable, os.path.join(HERE, "gen-zone.py"), "--names", str(STATIC_NAMES), "-o", zone], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "gen-queries.py"), zone, "-n", str(STATIC_QUERIES), "-o", queries],
                   check=True)
    # The configuration run.py gives meridian (benchlib.Meridian.configure); listen and workers
    # are read but unused here.
    s = B.Meridian(d, PLACEHOLDER_PORT, zone, "bench.example.", workers=1)
    s.configure()
    return os.path.join(s.dir, "meridian.yaml"), queries


def routed_inputs(d, geodb, mixes):
    os.makedirs(d, exist_ok=True)
    subnets, _ = RT.load_subnets(geodb, ROUTED_QUERIES, os.path.join(HERE, "out", "routing-cache"))
    s = RT.RoutedMeridian(d, PLACEHOLDER_PORT, geodb, workers=1)
    s.configure()
    files = {}
    for mix in mixes:
        path = os.path.join(d, "queries-%s.bin" % mix)
        RT.write_binary_queries(path, RT.SCENARIOS[mix], subnets)
        files[mix] = path
    return os.path.join(s.dir, "meridian.yaml"), files


def signed_config(config, d):
    """A copy of `config` whose every zone is signed online with the benchmark key (files in d)."""
    os.makedirs(d, exist_ok=True)
    with open(config) as f:
        text = f.read()
    origins = re.findall(r"origin: (\S+)", text)
    lines = []
    for line in text.splitlines():
        lines.append(line)
        m = re.match(r"(\s*)file: ", line)
        if m and origins:
            origin = origins.pop(0)
            base = os.path.join(d, "K%s+015+03613" % origin)
            with open(base + ".key", "w") as f:
                f.write("%s IN DNSKEY 257 3 15 %s\n" % (origin, BENCH_KEY_PUBLIC))
            fd = os.open(base + ".private", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, ("Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: %s\n" % BENCH_KEY_PRIVATE).encode())
            os.close(fd)
            lines.append('%sdnssec: { keys: ["%s"] }' % (m.group(1), base))
    signed = os.path.join(d, "meridian.yaml")
    with open(signed, "w") as f:
        f.write("\n".join(lines) + "\n")
    return signed


def callgrind(binary, config, queries, k, limit, out, extra=()):
    cmd = ["flock", LOCK, "valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out,
           binary, config, queries, str(k), "--limit", str(limit)] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"I\s+refs:\s+([\d,]+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit("callgrind: valgrind failed (%s):\n%s%s" % (" ".join(cmd), r.stdout, r.stderr[-3000:]))
    info = dict(re.findall(r"^(queries|checksum) (\S+)", r.stdout, re.M))
    first = r.stdout.splitlines()[0]
    return int(m.group(1).replace(",", "")), info, first


def annotate(out, n):
    r = subprocess.run(["callgrind_annotate", "--threshold=100", out], capture_output=True, text=True, check=True)
    rows = []
    for line in r.stdout.splitlines():
        # "4,072,002 ( 8.91%)  ???:$s7DNSWire14ResponseWriterV10writeBytesySbSWF [/path/querybench]"
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S+?):(\S+)", line)
        if m and "PROGRAM TOTALS" not in line:
            rows.append((int(m.group(1).replace(",", "")), m.group(2), m.group(4)))
        if len(rows) >= n:
            break
    names = [row[2] for row in rows]
    swift = shutil.which("swift")
    if swift and names:
        d = subprocess.run([swift, "demangle", "--simplified"], input="\n".join(names), capture_output=True, text=True)
        if d.returncode == 0:
            names = d.stdout.splitlines()
    return [(ir, pct, name) for (ir, pct, _), name in zip(rows, names)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mixes", default=",".join(MIXES), help="comma-separated: static,geo,weighted,rr,static-do,geo-do")
    ap.add_argument("--querybench", help="a querybench binary (stripped of debug info) instead of building one")
    ap.add_argument("--limit", type=int, default=10000, help="queries of each file in the corpus (default 10000)")
    ap.add_argument("--runs", type=int, default=1, help="K=1/K=2 pairs per mix (default 1; 2 checks repeatability)")
    ap.add_argument("--annotate", type=int, default=0, metavar="N", help="print the top N functions per mix")
    ap.add_argument("--geodb", default=os.path.join(REPO, "Tests", ".cache", "geolite2", "GeoLite2-City.mmdb"),
                    help="GeoLite2-City.mmdb (scripts/fetch-geolite2 puts it there)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="output root (default Benchmarks/out)")
    args = ap.parse_args()
    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    for m in mixes:
        if m not in MIXES:
            sys.exit("callgrind: unknown mix %s (%s)" % (m, ", ".join(MIXES)))
    outdir = os.path.join(args.out, "callgrind-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    binary = args.querybench or build(os.path.join(outdir, "querybench"))

    inputs = {}
    plain = sorted({SIGNED.get(m, m) for m in mixes})
    if "static" in plain:
        inputs["static"] = static_inputs(os.path.join(outdir, "static"))
    routed = [m for m in plain if m != "static"]
    if routed:
        if not os.path.exists(args.geodb):
            sys.exit("callgrind: %s missing (scripts/fetch-geolite2)" % args.geodb)
        config, files = routed_inputs(os.path.join(outdir, "routed"), os.path.abspath(args.geodb), routed)
        for m in routed:
            inputs[m] = (config, files[m])
    for m, base in SIGNED.items():
        if m in mixes:
            config, queries = inputs[base]
            inputs[m] = (signed_config(config, os.path.join(outdir, m)), queries)

    print("querybench %s, %s, rev %s" % (binary, datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), B.git_revision()))
    # Ir/query: (Ir(K=2) - Ir(K=1)) / queries, everything in one pass per query. respond/q: the
    # part inside QueryEngine.respond (inclusive, K=2 run / 2 passes), without querybench's loop.
    print("%-9s %7s %-18s %14s %14s %10s %10s" % ("mix", "queries", "checksum", "Ir(K=1)", "Ir(K=2)", "Ir/query", "respond/q"))
    for m in mixes:
        config, queries = inputs[m]
        for run in range(args.runs):
            ir = {}
            for k in (1, 2):
                out = os.path.join(outdir, "callgrind.%s.r%d.k%d.out" % (m, run, k))
                ir[k], info, first = callgrind(binary, config, queries, k, args.limit, out, ["--do"] if m in SIGNED else [])
            n = int(info["queries"])
            inside = respond_inclusive(out) / (2 * n)
            print("%-9s %7d %-18s %14d %14d %10.1f %10.1f" % (m, n, info["checksum"], ir[1], ir[2], (ir[2] - ir[1]) / n, inside),
                  flush=True)
            if run == 0:
                log("callgrind: %s: %s" % (m, first))
        if args.annotate:
            out = os.path.join(outdir, "callgrind.%s.r0.k2.out" % m)
            total = callgrind_total(out)
            print("  top %d functions of %s (K=2 run, %d Ir):" % (args.annotate, m, total))
            for ir_, pct, name in annotate(out, args.annotate):
                print("  %12d %6s%%  %8.1f/q  %s" % (ir_, pct, ir_ / (2 * n), name))
    log("callgrind: raw output in %s" % outdir)


# QueryEngine.respond(to:from:over:into:state:signatures:outcome:), the entry UDPWorker calls,
# mangled (its prefix).
RESPOND_SYMBOL = "$s11QueryEngineAAC7respond2to4from4over4into5state10signatures7outcomeSiSW_"


def respond_inclusive(out):
    """Ir inside the engine's respond (inclusive), i.e. without querybench's own loop."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out], capture_output=True, text=True,
                       check=True)
    for line in r.stdout.splitlines():
        if RESPOND_SYMBOL in line:
            return int(line.split()[0].replace(",", ""))
    return 0


def callgrind_total(out):
    """The run's total Ir (the `totals:` line; `summary:` is 0 with --instr-atstart=no)."""
    with open(out) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
