#!/usr/bin/python3
"""Response rate limiting against the real meridian binary.

A burst of 200 queries from 127.0.0.1 to a server limited to 10 answers per second per /24 gets
at most twice the budget in full answers (the burst may straddle a second), every other slipped
response truncated and empty (slip 2: about half of the limited ones), the rest dropped; a client
on ::1 is still answered meanwhile; a client that returns a valid server cookie, TCP, and an
exempt prefix are never limited; one log line names the limited prefix; a dnsperf burst from one
prefix is limited and the server keeps answering. Every packet goes to 127.0.0.1 or ::1.
"""

import argparse
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402

NAME = "www.example.org."
RATE = 10
failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def burst(server, count, options=None, family=socket.AF_INET):
    """Sends `count` queries as fast as one socket can, then collects replies for a second:
    (full answers, truncated empty answers, silence)."""
    host = server.host if family == socket.AF_INET else server.host6
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for i in range(count):
        m = dns.message.make_query(NAME, "A", use_edns=0, options=options or [])
        m.id = i
        s.sendto(m.to_wire(), (host, server.port))
    full = tc = 0
    deadline = time.time() + 1.5
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        m = dns.message.from_wire(s.recv(65535))
        if m.flags & dns.flags.TC:
            tc += 1 if not (m.answer or m.authority or m.additional) else 0
        elif m.answer:
            full += 1
    s.close()
    return full, tc, count - full - tc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meridian", default=servers.default_meridian())
    args = ap.parse_args()
    dnsperf = servers.which("dnsperf", "dnsperf")
    zones = servers.load_zones(servers.FIXTURE_CONFIG)
    limit = f"rate-limit:\n  responses-per-second: {RATE}\n  slip: 2\n"
    started = []
    try:
        mer = servers.start_meridian(args.meridian, zones, extra_yaml=limit + "cookies:\n  secret: 000102030405060708090a0b0c0d0e0f\n")
        started.append(mer)
        exempt = servers.start_meridian(args.meridian, zones, extra_yaml=limit + "  exempt: [127.0.0.0/8]\n")
        started.append(exempt)
        time.sleep(1.1)  # the readiness probes above spent part of this second's budget

        full, tc, silent = burst(mer, 200)
        check(full <= 2 * RATE, f"burst of 200: {full} full answers, at most {2 * RATE}")
        check(tc >= 40 and silent >= 40, f"burst of 200: {tc} truncated and empty, {silent} dropped (slip 2)")
        r = dns.query.udp(dns.message.make_query(NAME, "A"), "::1", port=mer.port, timeout=2)
        check(r.rcode() == 0 and r.answer, "another prefix (::1) is answered while 127.0.0.0/24 is limited")
        r = dns.query.tcp(dns.message.make_query(NAME, "A"), mer.host, port=mer.port, timeout=2)
        check(r.rcode() == 0 and r.answer, "TCP is never limited")

        # A client that brings back a valid server cookie is never limited.
        client = bytes.fromhex("0102030405060708")
        first = dns.query.tcp(dns.message.make_query(NAME, "A", use_edns=0, options=[dns.edns.GenericOption(10, client)]),
                              mer.host, port=mer.port, timeout=2)
        cookie = next((o.to_wire() for o in first.options if o.otype == 10), b"")
        check(len(cookie) == 24, "a server cookie to bring back")
        time.sleep(1.1)
        full, tc, silent = burst(mer, 200, options=[dns.edns.GenericOption(10, cookie)])
        check(full == 200, f"burst of 200 with a valid server cookie: all answered ({full}, {tc} TC, {silent} lost)")

        full, tc, silent = burst(exempt, 200)
        check(full == 200, f"burst of 200 from an exempt prefix: all answered ({full}, {tc} TC, {silent} lost)")

        log = mer.log_text()
        check("rate-limit: limiting answer responses to 127.0.0.0/24" in log,
              "one log line names the limited prefix and kind")
        check(log.count("rate-limit: limiting answer responses to 127.0.0.0/24") <= 3,
              "the prefix is logged when limiting starts, not per response")

        # dnsperf: a bounded burst from one prefix (loopback), the server keeps serving.
        qfile = os.path.join(mer.tmp, "queries.txt")
        with open(qfile, "w") as f:
            f.write("www.example.org A\nexample.org SOA\nnothing.example.org A\n" * 100)
        time.sleep(1.1)
        out = subprocess.run([dnsperf, "-s", "127.0.0.1", "-p", str(mer.port), "-d", qfile, "-n", "10", "-l", "5", "-t", "1"],
                             capture_output=True, text=True, timeout=30).stdout
        completed = next((line for line in out.splitlines() if "Queries completed" in line), "")
        print("dnsperf:", completed.strip())
        check(completed != "" and "100.00%" not in completed, "a dnsperf burst from one prefix is limited")
        check(mer.alive(), "the server still runs after the bursts")
        r = dns.query.tcp(dns.message.make_query(NAME, "A"), mer.host, port=mer.port, timeout=2)
        check(r.rcode() == 0 and r.answer, "and still answers")
    finally:
        for s in started:
            s.stop()
    print(f"ratelimit: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
