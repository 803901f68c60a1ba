#!/usr/bin/python3
"""Reload under load: queries flow continuously over UDP and TCP while 20 SIGHUP reloads run,
alternating two valid configurations (A and B, which answer www differently and route a service
to different data centers) and a broken one (a zone file with a syntax error). Asserts:

- zero lost queries (every query answered within 1 s),
- every answer right for a snapshot that could be in force (A or B; never empty, never broken),
- after each reload settles, the answer is the new snapshot's, and after a broken one the old.

    /usr/bin/python3 Tests/Differential/reload.py [--meridian PATH] [--reloads N] [--list] [-k PATTERN]

The reloads run once; each of the cases below judges one side of that run (selecting one still
runs all the reloads).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import suite  # noqa: E402

ZONE = """$ORIGIN example.com.
$TTL 300
@ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A {www}
"""

CONFIG = """listen: ["127.0.0.1:{port}"]
workers: 1
zones:
  - origin: example.com.
    file: {zone}
datacenters:
  one: {{ addresses: [198.51.100.1] }}
  two: {{ addresses: [198.51.100.2] }}
services:
  app.example.com.:
    policy: round-robin
    datacenters: [{dc}]
    ttl: 30
"""

SNAPSHOTS = {"A": ("192.0.2.10", "198.51.100.1"), "B": ("192.0.2.20", "198.51.100.2")}


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


LOST, WRONG, SETTLED, REJECTED, ALIVE = "no query lost", "no wrong answer", "each reload settles", \
    "a broken file is rejected and logged", "meridian survives"
CASES = [suite.Case("sighup", name) for name in (LOST, WRONG, SETTLED, REJECTED, ALIVE)]


def main():
    ap = suite.parser(__doc__.split("\n\n")[0])
    ap.add_argument("--reloads", type=int, default=20)
    args = ap.parse_args()
    chosen = suite.select("reload", CASES, args)
    args.meridian = args.meridian or servers.default_meridian()
    if not os.access(args.meridian, os.X_OK):
        report = suite.Report("reload")
        for case in chosen:
            report.record(case, [f"meridian binary not found at {args.meridian}: run `swift build` first"])
        return report.summary()
    tmp = tempfile.mkdtemp(prefix="meridian-reload-")
    port = servers.free_port()
    conf = os.path.join(tmp, "meridian.yaml")

    # Each install has a new, higher serial, as an operator's edits do: a reload whose serial
    # goes backwards is refused (serial-policy: keep), which is not what this test is about.
    serials = iter(range(1, 1_000_000))

    def install(kind):
        if kind == "broken":
            write(os.path.join(tmp, "a.zone"), ZONE.format(serial=next(serials), www="192.0.2.10") + "bad rr here !!!\n")
            write(conf, CONFIG.format(port=port, zone="a.zone", dc="one"))
            return
        www, _ = SNAPSHOTS[kind]
        zone = "a.zone" if kind == "A" else "b.zone"
        write(os.path.join(tmp, zone), ZONE.format(serial=next(serials), www=www))
        write(conf, CONFIG.format(port=port, zone=zone, dc="one" if kind == "A" else "two"))

    install("A")
    log = open(os.path.join(tmp, "meridian.log"), "w")
    proc = subprocess.Popen([args.meridian, "serve", "--config", conf], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    failures = []
    counts = {"sent": 0, "answered": 0}
    stop = threading.Event()
    lock = threading.Lock()

    def ask(name, tcp):
        q = dns.message.make_query(name, "A")
        r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=port, timeout=1.0)
        return [rr.address for rrset in r.answer for rr in rrset if rrset.rdtype == dns.rdatatype.A]

    def reloads_finished():
        log.flush()
        text = open(log.name).read()
        return text.count("reload: done") + text.count("reload: rejected")

    def current():
        return ask("www.example.com.", False), ask("app.example.com.", False)

    try:
        deadline = time.time() + 15
        while True:
            try:
                if current() == (["192.0.2.10"], ["198.51.100.1"]):
                    break
            except Exception:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("meridian did not start:\n" + open(log.name).read())
            time.sleep(0.1)

        def load(tcp):
            n = 0
            while not stop.is_set():
                name = "www.example.com." if n % 2 == 0 else "app.example.com."
                n += 1
                with lock:
                    counts["sent"] += 1
                try:
                    got = ask(name, tcp)
                except Exception as e:  # a timeout is a lost query
                    with lock:
                        failures.append((LOST, f"lost: {name} over {'TCP' if tcp else 'UDP'}: {e!r}"))
                    continue
                valid = [[s[0]] if name.startswith("www") else [s[1]] for s in SNAPSHOTS.values()]
                with lock:
                    counts["answered"] += 1
                    if got not in valid:
                        failures.append((WRONG, f"wrong: {name} -> {got}"))

        threads = [threading.Thread(target=load, args=(tcp,)) for tcp in (False, False, True)]
        for t in threads:
            t.start()
        expected = "A"
        for i in range(args.reloads):
            kind = ["B", "broken", "A"][i % 3]
            before = reloads_finished()
            install(kind)
            proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 30
            while reloads_finished() == before:
                if time.time() > deadline:
                    failures.append((SETTLED, f"reload {i + 1} ({kind}) never finished"))
                    break
                time.sleep(0.02)
            if kind != "broken":
                expected = kind
            # Settle, then the answer must be the snapshot in force.
            want = ([SNAPSHOTS[expected][0]], [SNAPSHOTS[expected][1]])
            deadline = time.time() + 10
            while current() != want:
                if time.time() > deadline:
                    failures.append((SETTLED, f"reload {i + 1} ({kind}): still answering {current()}, expected {want}"))
                    break
                time.sleep(0.05)
            print(f"reload {i + 1:2} {kind:6}: in force {expected}", flush=True)
        stop.set()
        for t in threads:
            t.join()
        if proc.poll() is not None:
            failures.append((ALIVE, "meridian exited during the reloads"))
        text = open(log.name).read()
        broken = text.count("reload: rejected")
        want_broken = sum(1 for i in range(args.reloads) if i % 3 == 1)
        if broken != want_broken:
            failures.append((REJECTED, f"expected {want_broken} logged reload failures (the broken files), saw {broken}"))
        if "a.zone:7:" not in text:
            failures.append((REJECTED, "the broken zone's file:line was not logged"))
        print(f"queries sent {counts['sent']}, answered {counts['answered']}, reloads {args.reloads}, "
              f"rejected {broken}")
    except RuntimeError as e:  # no reload ran: every case fails, saying why
        failures += [(c.name, str(e)) for c in CASES]
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    report = suite.Report("reload")
    for case in chosen:
        report.record(case, [f for c, f in failures if c == case.name][:20])
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
