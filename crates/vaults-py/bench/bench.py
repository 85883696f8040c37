#!/usr/bin/env python3
"""Benchmark: the vaults package against the original module and two peers.

Not a test: it prints a Markdown table of operations per second and, with
``--json PATH``, writes every sample. One run compares, on the same machine
and the same disk:

- ``vaults``     this package, ``Vault``
- ``vaults-enc`` this package, ``EncryptedVault`` (the default KDF; opening is not timed)
- ``vaults-normal`` this package, ``Vault(durability="normal")``: no fsync per
                 commit, like diskcache's defaults (skipped on a build without the option)
- ``original``   the original pure-Python module as shipped (logging on: its
                 DEBUG logger writes ``vaults.log`` in a temporary working directory)
- ``sqlitedict`` and ``diskcache`` (``pip install sqlitedict diskcache``; a peer
                 that does not import is skipped with a message)

on five operations:

- ``put``       one entry per call, each durable on return (the original and the
                package commit every put; sqlitedict ``d[k] = v; d.commit()``;
                diskcache ``set``)
- ``get hit``   reads of present entries, in random order
- ``get miss``  reads of absent entries
- ``bulk put``  10,000 entries in one call (``put_many``; sqlitedict: all
                assignments then one ``commit``; diskcache: ``set`` inside ``transact()``)
- ``list``      all 10,000 names (``list_keys``; sqlitedict ``list(d.keys())``;
                diskcache ``list(cache.iterkeys())``), reported as names per second

Each operation is measured in ``--rounds`` rounds (default 3), round-robin
over the peers (the order rotates each round), and the median is reported with
ratios against the original and against diskcache.

A sample lasts at most ``--cap`` seconds (a bulk call at most 4 times that):
a peer that fsyncs every write does fewer operations in it, and the run says
which samples were cut. Rates are per operation, so they stay comparable, and
a full run stays within a few minutes even on a disk with slow fsync. The
original's prefill (setup, not measured) is wrapped in one transaction.

    python bench/bench.py                    # full run, a few minutes at most
    python bench/bench.py --quick            # a smoke run, seconds
    python bench/bench.py --json out.json --original /path/to/python-vaults
"""

import argparse
import gc
import importlib.util
import json
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time

DEFAULT_ORIGINAL = "/work/shared/reference/python-vaults"

OPS = ["put", "get hit", "get miss", "bulk put", "list"]

# Per-call durable puts are fsync-bound for the original and sqlitedict: fewer of them.
SIZES = {
    "put": {"original": 2_000, "sqlitedict": 2_000, "default": 10_000},
    "get hit": {"original": 5_000, "default": 20_000},
    "get miss": {"original": 5_000, "default": 20_000},
    "bulk put": {"default": 10_000},
    "list": {"default": 10_000},
}


def size(op, peer, scale):
    table = SIZES[op]
    n = table.get(peer, table["default"])
    return max(50, int(n * scale))


def key(i):
    return f"key-{i:06d}"


def value(i):
    return {"url": f"https://example.com/repo/{i}", "status": "stopped", "pid": None, "n": i}


# -- peers ------------------------------------------------------------------------------
#
# A peer is an object with: open(name) -> handle, put(h, k, v), get(h, k),
# bulk(h, dict), names(h) -> list, close(h). Each handle lives in the peer's
# own folder under the run's temporary directory.


class VaultsPeer:
    name = "vaults"

    def __init__(self, base):
        import vaults

        if not hasattr(vaults, "EncryptedVault"):
            sys.exit(f"`import vaults` found the original module ({vaults.__file__}), not this package")
        self.mod = vaults
        self.root = os.path.join(base, self.name)
        vaults.set_root_path(self.root)

    def open(self, name):
        self.mod.set_root_path(self.root)
        return self.mod.Vault(name)

    def put(self, h, k, v):
        h.put(k, v)

    def get(self, h, k):
        return h.get(k)

    def bulk(self, h, data):
        h.put_many(data)

    def names(self, h):
        return h.list_keys()

    def close(self, h):
        h.close()

    def version(self):
        try:
            from importlib.metadata import version

            return version("vaults")
        except Exception:
            return "?"


class EncryptedPeer(VaultsPeer):
    name = "vaults-enc"

    def open(self, name):
        self.mod.set_root_path(self.root)
        return self.mod.EncryptedVault(name, passphrase="bench passphrase")


class NormalDurabilityPeer(VaultsPeer):
    """``Vault(..., durability="normal")``: no fsync per commit, as diskcache's
    default (WAL, synchronous=NORMAL): the like-for-like comparison on put."""

    name = "vaults-normal"

    def __init__(self, base):
        super().__init__(base)
        import inspect

        if "durability" not in inspect.signature(self.mod.Vault.__init__).parameters:
            raise ImportError("this build of vaults has no durability= option")

    def open(self, name):
        self.mod.set_root_path(self.root)
        return self.mod.Vault(name, durability="normal")


class OriginalPeer:
    name = "original"

    def __init__(self, base, path):
        source = path
        if os.path.isdir(source):
            source = os.path.join(source, "vaults.py")
        if not os.path.isfile(source):
            raise ImportError(f"no original module at {path}")
        # The original opens vaults.log in the working directory on import,
        # and logs there as it runs: give it a directory of its own.
        self.cwd = os.path.join(base, "original-cwd")
        os.makedirs(self.cwd, exist_ok=True)
        here = os.getcwd()
        os.chdir(self.cwd)
        try:
            # Imported under another name, so that its file handler does not
            # attach to this package's "vaults" logger.
            spec = importlib.util.spec_from_file_location("vaults_original", source)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        finally:
            os.chdir(here)
        if not getattr(mod, "MSGPACK_AVAILABLE", False):
            raise ImportError("msgpack is not installed: the original would pickle everything")
        self.mod = mod
        self.source = source
        self.root = os.path.join(base, self.name)
        mod.set_root_path(self.root)

    def open(self, name):
        self.mod.set_root_path(self.root)
        return self.mod.Vault(name)

    def put(self, h, k, v):
        h.put(k, v)

    def get(self, h, k):
        return h.get(k)

    def bulk(self, h, data):
        h.put_many(data)

    def names(self, h):
        return h.list_keys()

    def prefill(self, h, data):
        # Setup, not measured: one explicit transaction around the original's
        # put_many (which otherwise commits, and fsyncs, every entry). The
        # rows are the same ones put_many writes.
        h._connection.execute("BEGIN")
        h.put_many(data)
        h._connection.execute("COMMIT")

    def close(self, h):
        h._connection.close()

    def version(self):
        return self.source

    def log_size(self):
        p = os.path.join(self.cwd, "vaults.log")
        return os.path.getsize(p) if os.path.exists(p) else 0


class SqliteDictPeer:
    name = "sqlitedict"

    def __init__(self, base):
        import sqlitedict

        self.mod = sqlitedict
        self.root = os.path.join(base, self.name)
        os.makedirs(self.root, exist_ok=True)

    def open(self, name):
        return self.mod.SqliteDict(os.path.join(self.root, f"{name}.sqlite"), autocommit=False)

    def put(self, h, k, v):
        h[k] = v
        h.commit()

    def get(self, h, k):
        return h.get(k)

    def bulk(self, h, data):
        for k, v in data.items():
            h[k] = v
        h.commit()

    def names(self, h):
        return list(h.keys())

    def close(self, h):
        h.close()

    def version(self):
        return getattr(self.mod, "__version__", "?")


class DiskCachePeer:
    name = "diskcache"

    def __init__(self, base):
        import diskcache

        self.mod = diskcache
        self.root = os.path.join(base, self.name)
        os.makedirs(self.root, exist_ok=True)

    def open(self, name):
        return self.mod.Cache(os.path.join(self.root, name))

    def put(self, h, k, v):
        h.set(k, v)

    def get(self, h, k):
        return h.get(k)

    def bulk(self, h, data):
        with h.transact():
            for k, v in data.items():
                h.set(k, v)

    def names(self, h):
        return list(h.iterkeys())

    def close(self, h):
        h.close()

    def version(self):
        return getattr(self.mod, "__version__", "?")


def _prefill_with_bulk(self, h, data):
    self.bulk(h, data)


for _cls in (VaultsPeer, SqliteDictPeer, DiskCachePeer):
    _cls.prefill = _prefill_with_bulk


# -- measurements ------------------------------------------------------------------------


class State:
    """Per-peer handles kept across rounds: the prefilled vault the reads and listing use."""

    def __init__(self, peer, n_prefill):
        self.peer = peer
        self.counter = 0
        self.bulk_rate = None
        self.filled = peer.open("prefilled")
        data = {key(i): value(i) for i in range(n_prefill)}
        peer.prefill(self.filled, data)
        self.n_prefill = n_prefill
        # A first estimate of the bulk rate, so that a slow peer's first
        # bulk sample already fits the time cap.
        h = self.fresh()
        t0 = time.perf_counter()
        peer.bulk(h, {f"calibrate-{i}": value(i) for i in range(CHUNK)})
        self.bulk_rate = CHUNK / (time.perf_counter() - t0)
        peer.close(h)
        got = peer.get(self.filled, key(7))
        if got != value(7):
            raise RuntimeError(f"{peer.name}: read back {got!r}, expected {value(7)!r}")

    def fresh(self):
        self.counter += 1
        return self.peer.open(f"fresh-{self.counter}")


def timed(fn):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def capped(items, call, cap):
    """Runs ``call`` on the items, in chunks, until done or ``cap`` seconds
    have passed; returns (count done, seconds)."""
    gc.collect()
    gc.disable()
    try:
        done = 0
        t0 = time.perf_counter()
        while done < len(items):
            for it in items[done:done + CHUNK]:
                call(it)
            done = min(done + CHUNK, len(items))
            if time.perf_counter() - t0 > cap:
                break
        return done, time.perf_counter() - t0
    finally:
        gc.enable()


CHUNK = 50
# A bulk call may last this many times the cap before it is made smaller:
# only a peer that commits every entry on its own is cut.
BULK_CAP_FACTOR = 4


def measure(op, st, scale, rng, cap):
    """One sample of ``op`` for one peer: (operations or names per second, count)."""
    peer = st.peer
    n = size(op, peer.name, scale)
    if op == "put":
        h = st.fresh()
        items = [(f"put-{i:06d}", value(i)) for i in range(n)]
        done, dt = capped(items, lambda kv: peer.put(h, kv[0], kv[1]), cap)
        peer.close(h)
        return done / dt, done
    if op in ("get hit", "get miss"):
        h = st.filled
        if op == "get hit":
            keys = [key(rng.randrange(st.n_prefill)) for _ in range(n)]
        else:
            keys = [f"absent-{rng.randrange(10**9):09d}" for _ in range(n)]
        done, dt = capped(keys, lambda k: peer.get(h, k), cap)
        if (peer.get(h, keys[0]) is None) == (op == "get hit"):
            raise RuntimeError(f"{peer.name}: a {op} returned the wrong thing")
        return done / dt, done
    if op == "bulk put":
        # One call of n entries; a peer that is too slow for n within the cap
        # (the original commits each entry on its own) gets a smaller call,
        # sized from its previous rate: its rate does not depend on n.
        if st.bulk_rate is not None:
            n = max(CHUNK, min(n, int(st.bulk_rate * cap * BULK_CAP_FACTOR)))
        h = st.fresh()
        data = {f"bulk-{i:06d}": value(i) for i in range(n)}
        dt = timed(lambda: peer.bulk(h, data))
        if len(peer.names(h)) != n:
            raise RuntimeError(f"{peer.name}: bulk put stored the wrong count")
        peer.close(h)
        st.bulk_rate = n / dt
        return n / dt, n
    if op == "list":
        h = st.filled
        # Repeat the listing enough times for the sample to last ~0.2 s.
        got = peer.names(h)
        if len(got) != st.n_prefill:
            raise RuntimeError(f"{peer.name}: listing returned {len(got)} names")
        t0 = time.perf_counter()
        peer.names(h)
        once = max(time.perf_counter() - t0, 1e-6)
        reps = max(3, min(1000, int(min(0.2, cap) / once)))

        def run():
            for _ in range(reps):
                peer.names(h)

        dt = timed(run)
        return reps * st.n_prefill / dt, reps * st.n_prefill
    raise ValueError(op)


def fmt_rate(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def fmt_ratio(x):
    if x is None:
        return "—"
    return f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def markdown(medians, peers, title_note):
    names = [p.name for p in peers]
    lines = [f"Operations per second, median of the rounds ({title_note}).", ""]
    lines.append("| operation | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for op in OPS:
        lines.append(f"| {op} | " + " | ".join(fmt_rate(medians[op].get(n)) for n in names) + " |")
    for base in ("original", "diskcache"):
        if base not in names:
            continue
        lines.append("")
        lines.append(f"Ratio to `{base}` (higher is faster):")
        lines.append("")
        others = [n for n in names if n != base]
        lines.append("| operation | " + " | ".join(others) + " |")
        lines.append("|---|" + "---:|" * len(others))
        for op in OPS:
            row = []
            for n in others:
                a, b = medians[op].get(n), medians[op].get(base)
                row.append(fmt_ratio(a / b) if a and b else "—")
            lines.append(f"| {op} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: small sizes, 3 short rounds")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per operation (default 3, at least 3 for a report)")
    ap.add_argument("--original", default=os.environ.get("VAULTS_ORIGINAL", DEFAULT_ORIGINAL),
                    help="the original module: its vaults.py or the folder holding it")
    ap.add_argument("--json", metavar="PATH", help="write every sample, the medians and the ratios here")
    ap.add_argument("--dir", help="where the vault files go (default: a new temporary directory)")
    ap.add_argument("--peers", help="comma-separated subset of: vaults,vaults-enc,vaults-normal,original,sqlitedict,diskcache")
    ap.add_argument("--cap", type=float, default=1.5,
                    help="seconds a sample may last: slower peers do fewer operations (default 1.5)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every sample as it is taken")
    ap.add_argument("--keep", action="store_true", help="keep the files afterwards")
    args = ap.parse_args(argv)

    scale = 0.05 if args.quick else 1.0
    rounds = args.rounds or 3
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    base = tempfile.mkdtemp(prefix="vaults-bench-", dir=args.dir)
    wanted = set(args.peers.split(",")) if args.peers else None

    peers = []
    makers = [
        ("vaults", lambda: VaultsPeer(base)),
        ("vaults-enc", lambda: EncryptedPeer(base)),
        ("vaults-normal", lambda: NormalDurabilityPeer(base)),
        ("original", lambda: OriginalPeer(base, args.original)),
        ("sqlitedict", lambda: SqliteDictPeer(base)),
        ("diskcache", lambda: DiskCachePeer(base)),
    ]
    for name, make in makers:
        if wanted is not None and name not in wanted:
            continue
        try:
            peers.append(make())
        except ImportError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    if not peers:
        sys.exit("no peer to measure")

    # This package's own records are not what is measured: keep them quiet,
    # as an application that has not configured logging would.
    logging.getLogger("vaults").setLevel(logging.WARNING)

    started = time.time()
    n_prefill = size("list", "default", scale)
    states = {}
    for p in peers:
        t0 = time.perf_counter()
        states[p.name] = State(p, n_prefill)
        print(f"prefilled {p.name}: {n_prefill} entries in {time.perf_counter() - t0:.2f}s", file=sys.stderr)

    rng = random.Random(1234)
    cap = 0.3 if args.quick else args.cap
    samples = {op: {p.name: [] for p in peers} for op in OPS}
    counts = {op: {p.name: [] for p in peers} for op in OPS}
    for r in range(rounds):
        order = peers[r % len(peers):] + peers[: r % len(peers)]
        for op in OPS:
            for p in order:
                t0 = time.perf_counter()
                rate, count = measure(op, states[p.name], scale, rng, cap)
                if args.verbose:
                    print(f"  {op:8} {p.name:10} {fmt_rate(rate):>8}/s  ({count} in a sample;"
                          f" {time.perf_counter() - t0:.2f}s with setup)", file=sys.stderr)
                samples[op][p.name].append(rate)
                counts[op][p.name].append(count)
        print(f"round {r + 1}/{rounds} done at {time.time() - started:.0f}s", file=sys.stderr)

    for p in peers:
        for h in (states[p.name].filled,):
            try:
                p.close(h)
            except Exception:
                pass

    medians = {op: {n: statistics.median(v) for n, v in samples[op].items()} for op in OPS}
    ratios = {}
    for base_name in ("original", "diskcache"):
        if any(p.name == base_name for p in peers):
            ratios[base_name] = {
                op: {n: medians[op][n] / medians[op][base_name] for n in medians[op]} for op in OPS
            }

    note = f"{rounds} rounds, interleaved" + (", --quick sizes" if args.quick else "")
    table = markdown(medians, peers, note)
    print(table)
    short = []
    for op in OPS:
        for p in peers:
            want = size(op, p.name, scale)
            got = min(counts[op][p.name])
            if op != "list" and got < want:
                short.append(f"{p.name} {op}: {got} of {want} per sample (time cap {cap}s)")
    if short:
        print("\nSamples cut by the time cap (rates still per operation):")
        for line in short:
            print(f"- {line}")
    original = next((p for p in peers if p.name == "original"), None)
    if original is not None:
        print(f"\n(the original's vaults.log grew to {original.log_size() / 1e6:.1f} MB during the run)")
    print(f"\ntotal {time.time() - started:.0f}s", file=sys.stderr)

    if args.json:
        out = {
            "rounds": rounds,
            "quick": args.quick,
            "sizes": {op: {p.name: size(op, p.name, scale) for p in peers} for op in OPS},
            "counts": counts,
            "cap_seconds": cap,
            "unit": "operations per second (list: names per second)",
            "samples": samples,
            "medians": medians,
            "ratios": ratios,
            "peers": {p.name: p.version() for p in peers},
            "python": sys.version,
            "platform": platform.platform(),
            "dir": base,
            "seconds": time.time() - started,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.json}", file=sys.stderr)

    if args.keep:
        print(f"files kept in {base}", file=sys.stderr)
    else:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
