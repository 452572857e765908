#!/usr/bin/python3
"""test_demo.py -- tools/demo.py (the main job's demo) and tools/plot.py.

demo.py runs 8 ticks with standard output not a terminal, on the daemon it
starts itself (config/tickcast.yaml's model, ipc endpoints in a temp folder);
plot.py draws a PNG from a `tickcast replay` of the demo series. Prints TAP;
the demo's cases are skipped without pyzmq, the picture's without matplotlib
(neither is needed by the build; CI installs only tools/deps.sh).

Environment: TC_TICKCASTD, TC_TICKCAST (default build/daemon/tickcastd, build/cli/tickcast),
TC_SOURCE_ROOT (the repository).
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKCAST = os.environ.get("TC_TICKCAST") or os.path.join(ROOT, "build", "cli", "tickcast")
DEMO = os.path.join(ROOT, "tools", "demo.py")
PLOT = os.path.join(ROOT, "tools", "plot.py")
CONFIG = os.path.join(ROOT, "config", "tickcast.yaml")
SERIES = ["demo.co2", "demo.sunspots", "demo.nile", "demo.elec_equip"]
TICKS = 8

results = []


def report(ok, name, detail="", skip=None):
    n = len(results) + 1
    results.append(ok or skip is not None)
    if skip is not None:
        print(f"ok {n} - {name} # SKIP {skip}")
    else:
        print(f"{'ok' if ok else 'not ok'} {n} - {name}")
        if not ok:
            for line in detail.splitlines():
                print(f"# {line}")
    sys.stdout.flush()


def load_demo_module():
    spec = importlib.util.spec_from_file_location("tc_demo", DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_derive_config():
    demo = load_demo_module()
    src = ('model:\n  weights: "../models/x y.safetensors"  # a comment\n  input_size: 1\n'
           '  layers:\n    - {type: gru, hidden: 8}\n  head: {type: linear, outputs: 12}\n'
           'tick:\n  clock: event\n  interval_ms: 1000\n'
           'ingest: {bind: ["tcp://127.0.0.1:7700"]}\npublish:\n  bind: ["tcp://127.0.0.1:7701"]\n'
           '  format: json\ncontrol: {bind: "tcp://127.0.0.1:7702"}\nseries: {max: 10}\n'
           'metrics: {listen: "127.0.0.1:7703"}\n')
    out = demo.derive_config(src, "/cfg/dir", "/tmp/D", 250)
    want = ['weights: "/cfg/models/x y.safetensors"', "interval_ms: 250", "clock: wall",
            'ipc:///tmp/D/in', 'ipc:///tmp/D/out', 'ipc:///tmp/D/ctl', "series: {max: 10}",
            "{type: gru, hidden: 8}"]
    gone = ["7700", "7701", "7702", "7703", "clock: event", "format: json", "interval_ms: 1000"]
    ok = all(w in out for w in want) and not any(g in out for g in gone)
    report(ok, "demo.py derives its config: model and series kept, weights absolute, "
           "own clock and ipc endpoints, metrics off", out)


def test_write_readings(d):
    path = os.path.join(d, "r.txt")
    r = subprocess.run([sys.executable, DEMO, "--write-readings", path], capture_output=True, text=True)
    counts = {}
    stamps = set()
    try:
        with open(path) as f:
            for line in f:
                sid, v, t = line.split()
                float(v)
                counts[sid] = counts.get(sid, 0) + 1
                stamps.add(float(t))
    except (OSError, ValueError) as e:
        counts = {"error": str(e)}
    ok = r.returncode == 0 and set(counts) == set(SERIES) and len(stamps) == max(counts.values())
    report(ok, "demo.py --write-readings: lines of every demo series, a timestamp per tick",
           f"exit {r.returncode}\n{r.stderr}\n{counts}")


def test_demo_run():
    try:
        import zmq  # noqa: F401
    except ImportError as e:
        why = f"pyzmq not installed ({sys.executable}: {e}; Debian: apt-get install python3-zmq)"
        for name in ("demo.py --ticks 8 exits 0", "a table per tick, a row with a forecast per series",
                     "tickcastd stopped by SIGTERM with exit status 0"):
            report(True, name, skip=why)
        return
    try:
        run = subprocess.run([sys.executable, DEMO, "--ticks", str(TICKS), "--speed", "5"],
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        out, err, rc = run.stdout, run.stderr, run.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = (e.stdout or b"").decode(errors="replace"), "the demo hung", None
    report(rc == 0, f"demo.py --ticks {TICKS} exits 0", f"exit {rc}\n{err}\n{out[-3000:]}")

    # Plain output: a block per tick, its header then one row per series.
    blocks = re.split(r"^(?=tickcast demo: tick )", out, flags=re.M)[1:]
    bad = []
    ticks = []
    for b in blocks:
        lines = b.splitlines()
        m = re.match(r"tickcast demo: tick (\d+)/(\d+), (\d+) series", lines[0])
        if not m or int(m.group(2)) != TICKS or "\x1b" in b:
            bad.append(lines[0])
            continue
        ticks.append(int(m.group(1)))
        rows = {l.split()[0]: l.split() for l in lines[1:] if l.startswith("demo.")}
        for sid in SERIES:
            # series, date, reading, next (a number: the forecast came), ...
            row = rows.get(sid)
            if not row or not re.match(r"^-?[\d.]+(e[+-]?\d+)?$", row[3]):
                bad.append(f"tick {m.group(1)}: {sid}: {row}")
    ok = ticks == list(range(1, TICKS + 1)) and not bad
    report(ok, "a table per tick, a row with a forecast per series",
           f"ticks {ticks}\n" + "\n".join(bad[:5]) + f"\n{out[-2000:]}")
    report("tickcastd stopped (SIGTERM), exit status 0" in out,
           "tickcastd stopped by SIGTERM with exit status 0", out[-1000:])


def test_plot(d):
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        report(True, "plot.py --replay writes a PNG",
               skip=f"matplotlib not installed ({e}; Debian: python3-matplotlib)")
        return
    readings = os.path.join(d, "nile.txt")
    forecasts = os.path.join(d, "f.txt")
    png = os.path.join(d, "f.png")
    detail = ""
    ok = False
    w = subprocess.run([sys.executable, DEMO, "--write-readings", readings, "--series", "nile"],
                       capture_output=True, text=True)
    if w.returncode == 0:
        with open(readings) as fin, open(forecasts, "w") as fout:
            r = subprocess.run([TICKCAST, "replay", "--config", CONFIG], stdin=fin, stdout=fout,
                               stderr=subprocess.PIPE, text=True)
        detail = r.stderr
        if r.returncode == 0:
            p = subprocess.run([sys.executable, PLOT, "--replay", forecasts, "--readings", readings,
                                "--out", png, "--last", "40"], capture_output=True, text=True)
            detail += f"\nplot.py: exit {p.returncode}\n{p.stderr}"
            try:
                with open(png, "rb") as f:
                    head = f.read(8)
                ok = p.returncode == 0 and head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 5000
            except OSError as e:
                detail += f"\n{e}"
    else:
        detail = w.stderr
    report(ok, "plot.py --replay writes a PNG", detail)


def main():
    print("1..6")
    d = tempfile.mkdtemp(prefix="tc-demo-test-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        test_derive_config()
        test_write_readings(d)
        test_demo_run()
        test_plot(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
