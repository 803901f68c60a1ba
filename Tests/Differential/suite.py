"""The command line and the per-case report shared by every Python suite under Tests/.

Each suite is a list of cases, each in a group. The same options select in all of them:

    SUITE.py --list                    print every case as GROUP/CASE, run nothing
    SUITE.py --group GROUP             run the cases of one group (repeatable)
    SUITE.py --case GROUP/CASE         run one case (repeatable; the bare CASE works when unique)
    SUITE.py -k PATTERN                run the cases whose GROUP/CASE contains PATTERN, or matches it
                                       as a glob (case-insensitive; repeatable: any of them)

Given together, the selectors narrow each other (a case must pass every kind given). Each case
run prints one line at column 0, `PASS GROUP/CASE` or `FAIL GROUP/CASE: first problem`, its
further problems and details indented below it, and the run ends with one summary line:
`SUITE: N cases, P passed, F failed in T s`. Exit status: 0 when every selected case passed, 1 when one
failed, 2 when the selection matched no case. A missing tool (servers.Missing) fails the cases
that needed it, naming the Debian package to install.

The Swift runners (Tests/EndToEndTests/Support.swift, E2E.runSuite) run one group at a time and
attach the FAIL lines to their expectation.
"""

import argparse
import fnmatch
import sys
import time
import traceback

SELECTING = __doc__.split("\n\n")[1]


class Case:
    """One case: a group, a name, and what the suite needs to run it (a function or data)."""

    def __init__(self, group, name, run=None, **data):
        self.group, self.name, self.run, self.data = group, name, run, data

    @property
    def id(self):
        return f"{self.group}/{self.name}"

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)


def parser(description, meridian=True):
    """An ArgumentParser with the selection options (and --meridian); a suite adds its own options."""
    ap = argparse.ArgumentParser(description=description, epilog=SELECTING,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if meridian:
        ap.add_argument("--meridian", help="path to the meridian binary (default: .build/debug/meridian)")
    g = ap.add_argument_group("selecting cases")
    g.add_argument("--list", action="store_true", help="print every case as GROUP/CASE and exit")
    g.add_argument("--group", action="append", default=[], metavar="GROUP", help="run this group's cases")
    g.add_argument("--case", action="append", default=[], metavar="GROUP/CASE", help="run this case")
    g.add_argument("-k", dest="pattern", action="append", default=[], metavar="PATTERN",
                   help="run the cases whose GROUP/CASE contains or glob-matches PATTERN")
    return ap


def _matches(case, args):
    ident = case.id.lower()
    if args.group and case.group not in args.group:
        return False
    if args.case and not any(c == case.id or c == case.name for c in args.case):
        return False
    if args.pattern and not any(p.lower() in ident or fnmatch.fnmatchcase(ident, p.lower()) for p in args.pattern):
        return False
    return True


def select(suite, cases, args):
    """The selected cases, in order. With --list, prints them all and exits 0; when nothing matches,
    says so and exits 2."""
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"{suite}: case names used twice: {sorted(dup)}")
    if args.list:
        for c in cases:
            print(c.id)
        sys.exit(0)
    chosen = [c for c in cases if _matches(c, args)]
    if not chosen:
        groups = sorted({c.group for c in cases})
        print(f"{suite}: no case matches the selection (groups: {', '.join(groups)}; --list shows every case)")
        sys.exit(2)
    return chosen


class Report:
    """PASS/FAIL lines per case and the summary."""

    def __init__(self, suite):
        self.suite = suite
        self.failed = []
        self.count = 0
        self.started = time.monotonic()

    def record(self, case, problems, details=()):
        """problems: what went wrong (empty: the case passed); details: indented lines shown either
        way, which then stand for the problems after the first line."""
        self.count += 1
        ident = case.id if isinstance(case, Case) else case
        problems = [str(p) for p in problems]
        if problems:
            self.failed.append(ident)
            first = problems[0].split("\n")
            print(f"FAIL {ident}: {first[0]}", flush=True)
            rest = first[1:] + [line for p in problems[1:] for line in p.split("\n")]
        else:
            print(f"PASS {ident}", flush=True)
            rest = []
        # Details from checks already hold every problem in full; otherwise the problems follow.
        for line in list(details) or rest:
            for part in str(line).split("\n"):
                print(f"    {part}", flush=True)
        return not problems

    def summary(self):
        """Prints the summary line; the exit status."""
        print(f"{self.suite}: {self.count} cases, {self.count - len(self.failed)} passed, {len(self.failed)} failed "
              f"in {time.monotonic() - self.started:.1f} s", flush=True)
        return 1 if self.failed else 0


class Checks:
    """The check(ok, what) of the function-style suites, collected for the case running now: the
    failed ones are its problems; every one becomes an indented `ok`/`not ok` line under the
    case's PASS/FAIL line."""

    def __init__(self):
        self.problems = []
        self.lines = []

    def __call__(self, ok, what):
        # A passing check shows its first line; a failing one all of it (dig output, say).
        self.lines.append(f"{'ok    ' if ok else 'not ok'} " + (what if not ok else what.split("\n", 1)[0]))
        if not ok:
            self.problems.append(what)
        return ok


class Fixtures:
    """Servers and tools started on first use and stopped at the end: `fx.knot` runs the function
    given for "knot" once. A fixture whose start failed fails every case that asks for it, with
    the same message."""

    def __init__(self, **makers):
        self._makers, self._made, self._errors, self._order = makers, {}, {}, []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._made:
            return self._made[name]
        if name in self._errors:
            raise self._errors[name]
        try:
            value = self._makers[name]()
        except Exception as e:
            self._errors[name] = e
            raise
        self._made[name] = value
        self._order.append(value)
        return value

    def started(self):
        return list(self._order)

    def stop(self):
        for s in reversed(self._order):
            stop = getattr(s, "stop", None)
            if stop:
                stop()


def run(suite, cases, args, fixtures=None, after=None):
    """Selects from `cases` (each with run(checks, fixtures)), runs them and reports.

    A case fails when one of its checks fails or it raises. `after(checks, fixtures)` runs once
    after the cases (e.g. "every server still running") and is reported as the case `run/after`.
    Returns the exit status."""
    chosen = select(suite, cases, args)
    report = Report(suite)
    fixtures = fixtures or Fixtures()
    try:
        for case in chosen:
            checks = Checks()
            problems = []
            try:
                case.run(checks, fixtures)
            except Exception as e:  # a crash or a missing tool fails this case, not the run
                problems.append(_describe(e))
                checks.lines.append("not ok " + problems[-1])
            report.record(case, checks.problems + problems, checks.lines)
        if after is not None:
            checks = Checks()
            try:
                after(checks, fixtures)
            except Exception as e:
                checks.problems.append(_describe(e))
            if checks.problems:
                report.record(f"{suite}/afterwards", checks.problems)
    finally:
        fixtures.stop()
    return report.summary()


def _describe(e):
    if type(e).__name__ == "Missing":
        return str(e)
    return f"raised {e!r}\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__)[-3:]).rstrip()
