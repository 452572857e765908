"""daemon_py.py -- what the Python tests that start tickcastd share: the
programs' paths, a TAP reporter, a config for the bundled sample model on ipc endpoints in a
temp folder, and waiting for the daemon to answer `status`.

Environment: TC_TICKCASTD, TC_TICKCAST (default build/daemon/tickcastd, build/cli/tickcast), TC_SOURCE_ROOT.
"""
import os
import subprocess
import sys
import time

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKCASTD = os.environ.get("TC_TICKCASTD") or os.path.join(ROOT, "build", "daemon", "tickcastd")
TICKCAST = os.environ.get("TC_TICKCAST") or os.path.join(ROOT, "build", "cli", "tickcast")


def sample_config(d, tick, publish=""):
    """A config for models/sample.safetensors (2 x 64, 12 outputs) with the
    `tick` mapping's contents, sockets ipc://d/{in,out,ctl}, and extra
    `publish` keys (", format: binary", ...)."""
    return f"""model:
  weights: {os.path.join(ROOT, 'models', 'sample.safetensors')}
  input_size: 1
  layers:
    - {{type: gru, hidden: 64}}
    - {{type: gru, hidden: 64}}
  head: {{type: linear, outputs: 12}}
tick: {{{tick}}}
ingest: {{bind: ["ipc://{d}/in"]}}
publish: {{bind: ["ipc://{d}/out"]{publish}}}
control: {{bind: "ipc://{d}/ctl"}}
metrics: {{listen: ""}}
log: {{level: info}}
"""


def wait_ready(daemon, d, timeout=10):
    """True once the control socket answers `status` (the sockets are bound)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if daemon.poll() is not None:
            return False
        st = subprocess.run([TICKCAST, "status", "-e", f"ipc://{d}/ctl", "-t", "500"],
                            capture_output=True, text=True)
        if st.returncode == 0:
            return True
        time.sleep(0.1)
    return False


def tap_reporter(names, results):
    """A report(ok, detail="") that prints the TAP line of the next test of
    names (detail as comments) and appends whether it passed to results."""
    def report(ok, detail=""):
        results.append(bool(ok))
        n = len(results)
        print(f"{'ok' if ok else 'not ok'} {n} - {names[n - 1]}")
        for line in str(detail).splitlines():
            print(f"# {line}")
        sys.stdout.flush()
    return report
