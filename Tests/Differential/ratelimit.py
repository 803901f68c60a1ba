#!/usr/bin/python3
"""Response rate limiting against the real meridian binary.

A burst of 200 queries from 127.0.0.1 to a server limited to 10 answers per second per /24 gets
at most twice the budget in full answers (the burst may straddle a second), every other slipped
response truncated and empty (slip 2: about half of the limited ones), the rest dropped; a client
on ::1 is still answered meanwhile; a client that returns a valid server cookie, TCP, and an
exempt prefix are never limited; one log line names the limited prefix; a dnsperf burst from one
prefix is limited and the server keeps answering. Every packet goes to 127.0.0.1 or ::1.
"""

import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import suite  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402

NAME = "www.example.org."
RATE = 10
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


LIMITED = "rate-limit: limiting answer responses to 127.0.0.0/24"


def fresh_second():
    """Waits out the current second's budget (the readiness probes or a previous case spent it)."""
    time.sleep(1.1)


def limited_burst(check, fx):
    mer = fx.mer
    fresh_second()
    full, tc, silent = burst(mer, 200)
    fx.state["burst"] = True
    check(full <= 2 * RATE, f"burst of 200: {full} full answers, at most {2 * RATE}")
    check(tc >= 40 and silent >= 40, f"burst of 200: {tc} truncated and empty, {silent} dropped (slip 2)")
    r = dns.query.udp(dns.message.make_query(NAME, "A"), "::1", port=mer.port, timeout=2)
    check(r.rcode() == 0 and r.answer, "another prefix (::1) is answered while 127.0.0.0/24 is limited")
    r = dns.query.tcp(dns.message.make_query(NAME, "A"), mer.host, port=mer.port, timeout=2)
    check(r.rcode() == 0 and r.answer, "TCP is never limited")


def cookie_exempt(check, fx):
    mer = fx.mer
    # A client that brings back a valid server cookie is never limited.
    client = bytes.fromhex("0102030405060708")
    first = dns.query.tcp(dns.message.make_query(NAME, "A", use_edns=0, options=[dns.edns.GenericOption(10, client)]),
                          mer.host, port=mer.port, timeout=2)
    cookie = next((o.to_wire() for o in first.options if o.otype == 10), b"")
    check(len(cookie) == 24, "a server cookie to bring back")
    fresh_second()
    full, tc, silent = burst(mer, 200, options=[dns.edns.GenericOption(10, cookie)])
    check(full == 200, f"burst of 200 with a valid server cookie: all answered ({full}, {tc} TC, {silent} lost)")


def prefix_exempt(check, fx):
    exempt = fx.exempt
    fresh_second()
    full, tc, silent = burst(exempt, 200)
    check(full == 200, f"burst of 200 from an exempt prefix: all answered ({full}, {tc} TC, {silent} lost)")


def log_line(check, fx):
    if not fx.state.get("burst"):  # run alone: the burst that makes the line, judged by its own case
        fresh_second()
        burst(fx.mer, 200)
        fx.state["burst"] = True
    log = fx.mer.log_text()
    check(LIMITED in log, "one log line names the limited prefix and kind")
    check(log.count(LIMITED) <= 3, "the prefix is logged when limiting starts, not per response")


def dnsperf_burst(check, fx):
    mer = fx.mer
    # dnsperf: a bounded burst from one prefix (loopback), the server keeps serving.
    qfile = os.path.join(mer.tmp, "queries.txt")
    with open(qfile, "w") as f:
        f.write("www.example.org A\nexample.org SOA\nnothing.example.org A\n" * 100)
    fresh_second()
    out = subprocess.run([fx.dnsperf, "-s", "127.0.0.1", "-p", str(mer.port), "-d", qfile, "-n", "10", "-l", "5", "-t", "1"],
                         capture_output=True, text=True, timeout=30).stdout
    completed = next((line for line in out.splitlines() if "Queries completed" in line), "")
    check(completed != "" and "100.00%" not in completed, f"a dnsperf burst from one prefix is limited (dnsperf: {completed.strip()})")
    check(mer.alive(), "the server still runs after the bursts")
    r = dns.query.tcp(dns.message.make_query(NAME, "A"), mer.host, port=mer.port, timeout=2)
    check(r.rcode() == 0 and r.answer, "and still answers")


CASES = [
    suite.Case("limit", "burst of 200", limited_burst),
    suite.Case("exempt", "valid server cookie", cookie_exempt),
    suite.Case("exempt", "exempt prefix", prefix_exempt),
    suite.Case("limit", "log line", log_line),
    suite.Case("limit", "dnsperf burst", dnsperf_burst),
]


def main():
    args = suite.parser(__doc__.split("\n\n")[0]).parse_args()
    meridian = args.meridian or servers.default_meridian()
    zones = servers.load_zones(servers.FIXTURE_CONFIG)
    limit = f"rate-limit:\n  responses-per-second: {RATE}\n  slip: 2\n"
    fx = suite.Fixtures(
        dnsperf=lambda: servers.which("dnsperf", "dnsperf"),
        mer=lambda: servers.start_meridian(meridian, zones, extra_yaml=limit + "cookies:\n  secret: 000102030405060708090a0b0c0d0e0f\n"),
        exempt=lambda: servers.start_meridian(meridian, zones, extra_yaml=limit + "  exempt: [127.0.0.0/8]\n"),
        state=dict,
    )
    return suite.run("ratelimit", CASES, args, fx)


if __name__ == "__main__":
    sys.exit(main())
