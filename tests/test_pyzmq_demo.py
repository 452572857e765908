#!/usr/bin/python3
"""test_pyzmq_demo.py -- tools/examples/pyzmq_demo.py (the example of
docs/models.md) against a real tickcastd on ipc endpoints in a temp folder,
with the bundled 2x64 sample model and a 200 ms wall clock. Prints TAP; every
case that needs pyzmq is skipped, saying so, when it cannot be imported.

Environment: TC_TICKCASTD (the daemon; default build/daemon/tickcastd),
TC_TICKCAST (for `tickcast status`), TC_SOURCE_ROOT (the repository).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from daemon_py import ROOT, TICKCAST, TICKCASTD, sample_config, wait_ready
DEMO = os.path.join(ROOT, "tools", "examples", "pyzmq_demo.py")
SERIES, COUNT = 4, 3

TESTS = [
    "tickcastd starts on ipc endpoints with the sample model",
    "pyzmq_demo.py exits 0 after its forecasts",
    f"forecasts of every one of the {SERIES} series, {COUNT}+ each, 12 values each",
    "SIGTERM stops tickcastd with exit status 0",
]
DOC_TEST = "docs/models.md shows tools/examples/pyzmq_demo.py as it is"


def doc_shows_demo():
    """The doc's last ```python block is the demo file, byte for byte."""
    with open(os.path.join(ROOT, "docs", "models.md")) as f:
        doc = f.read()
    with open(DEMO) as f:
        demo = f.read()
    return ("```python\n" + demo + "```") in doc



def main():
    print(f"1..{len(TESTS) + 1}")
    shown = doc_shows_demo()
    print(f"{'ok' if shown else 'not ok'} 1 - {DOC_TEST}")
    try:
        import zmq  # noqa: F401
    except ImportError as e:
        for i, name in enumerate(TESTS, 2):
            print(f"ok {i} - {name} # SKIP pyzmq not installed ({sys.executable}: {e}; "
                  "Debian: apt-get install python3-zmq)")
        return 0 if shown else 1

    results = [shown]

    def report(ok, name, detail=""):
        n = len(results) + 1
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {n} - {name}")
        for line in detail.splitlines():
            print(f"# {line}")
        sys.stdout.flush()

    # ipc paths are limited to about 100 bytes: a short folder under /tmp.
    d = tempfile.mkdtemp(prefix="tc-pyzmq-", dir="/tmp" if os.path.isdir("/tmp") else None)
    log = open(os.path.join(d, "daemon.log"), "w+")
    daemon = None
    try:
        with open(os.path.join(d, "tickcast.yaml"), "w") as f:
            f.write(sample_config(d, "clock: wall, interval_ms: 200"))
        daemon = subprocess.Popen([TICKCASTD, "--config", os.path.join(d, "tickcast.yaml")],
                                  stdout=log, stderr=subprocess.STDOUT)
        ready = wait_ready(daemon, d)
        log.seek(0)
        report(ready, TESTS[0], "" if ready else log.read())
        if not ready:
            for name in TESTS[1:]:
                report(False, name, "no daemon")
            return 1

        try:
            run = subprocess.run([sys.executable, DEMO, "--ingest", f"ipc://{d}/in",
                                  "--forecasts", f"ipc://{d}/out", "--series", str(SERIES),
                                  "--count", str(COUNT), "--timeout", "20"],
                                 capture_output=True, text=True, timeout=60)
            out, rc = run.stdout, run.returncode
            err = run.stderr
        except subprocess.TimeoutExpired as e:
            out, rc, err = (e.stdout or b"").decode(), None, "the demo hung"
        report(rc == 0, TESTS[1], f"exit {rc}\n{err}\n{out[-2000:]}" if rc != 0 else "")

        seen = {}
        bad = []
        for line in out.splitlines():
            if line.startswith("demo.wave-"):
                sid = line.split()[0]
                n_values = line.split("(")[1].split()[0]
                if n_values != "12":
                    bad.append(line)
                seen[sid] = seen.get(sid, 0) + 1
        want = {f"demo.wave-{i}" for i in range(SERIES)}
        ok = set(seen) == want and all(n >= COUNT for n in seen.values()) and not bad
        report(ok, TESTS[2], f"forecasts per series: {seen}" + (f"\nbad: {bad[:3]}" if bad else ""))

        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        log.seek(0)
        report(rc == 0, TESTS[3], "" if rc == 0 else f"exit {rc}\n{log.read()[-2000:]}")
        daemon = None
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
