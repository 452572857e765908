#!/usr/bin/python3
"""test_curve_pyzmq.py -- CURVE between tickcastd and pyzmq: certificates both ways, and README's client.

Certificates that `tickcast keygen` writes must load with zmq.auth.load_certificate;
the daemon must start from certificates zmq.auth.create_certificates wrote (its
secret key, and a folder of authorized public keys). The README's curve_socket(),
taken from the README as it is, must then publish readings, receive their
forecasts and get `status`, while a client with an unlisted key gets no reply.
Prints TAP; the cases that need pyzmq are skipped, saying so, without it.

Environment: TC_TICKCASTD, TC_TICKCAST, TC_SOURCE_ROOT (as test_pyzmq_demo.py).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from daemon_py import ROOT, TICKCAST, TICKCASTD, sample_config, tap_reporter

T0 = 1700000000
TESTS = [
    "README.md has curve_socket() in a Python block",
    "tickcast keygen's certificates load with zmq.auth.load_certificate",
    "tickcastd starts with certificates zmq.auth.create_certificates wrote",
    "README's curve_socket() gets status and the forecasts of its readings",
    "a client with an unlisted key gets no status reply, and is counted",
    "SIGTERM stops tickcastd with exit status 0",
]


def snippet():
    """README's one Python block that defines curve_socket(), or None."""
    with open(os.path.join(ROOT, "README.md")) as f:
        doc = f.read()
    blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
    found = [b for b in blocks if "def curve_socket(" in b]
    return found[0] if len(found) == 1 else None


def status(zmq, ns, d, client, timeout_ms):
    """`status` over a CURVE REQ as client (a NAME.key_secret); the reply dict or None."""
    import json
    ctx = zmq.Context.instance()
    req = ns["curve_socket"](ctx, zmq.REQ, f"ipc://{d}/ctl", os.path.join(d, "server.key"),
                             client)
    req.linger = 0
    try:
        req.send(b"status")
        return json.loads(req.recv()) if req.poll(timeout_ms) else None
    finally:
        req.close()


def main():
    print(f"1..{len(TESTS)}")
    results = []

    report = tap_reporter(TESTS, results)

    code = snippet()
    report(code is not None)
    if code is None:
        return 1
    try:
        import zmq
        import zmq.auth
    except ImportError as e:
        for name in TESTS[1:]:
            print(f"ok {len(results) + 1} - {name} # SKIP pyzmq not installed ({e})")
            results.append(True)
        return 0
    ns = {}
    exec(code, ns)

    d = tempfile.mkdtemp(prefix="tc-curve-", dir="/tmp" if os.path.isdir("/tmp") else None)
    log = open(os.path.join(d, "daemon.log"), "w+")
    daemon = None
    try:
        kg = subprocess.run([TICKCAST, "keygen", d, "ours"], capture_output=True, text=True)
        pub_key, sec_key = (None, None)
        if kg.returncode == 0:
            pub_key, _ = zmq.auth.load_certificate(os.path.join(d, "ours.key"))
            p2, sec_key = zmq.auth.load_certificate(os.path.join(d, "ours.key_secret"))
        report(kg.returncode == 0 and pub_key == p2 and sec_key and len(pub_key) == 40
               and zmq.curve_public(sec_key) == pub_key, kg.stderr)

        os.mkdir(os.path.join(d, "clients"))
        os.mkdir(os.path.join(d, "others"))
        zmq.auth.create_certificates(d, "server")
        zmq.auth.create_certificates(os.path.join(d, "clients"), "alice")
        zmq.auth.create_certificates(os.path.join(d, "others"), "mallory")
        with open(os.path.join(d, "tickcast.yaml"), "w") as f:
            f.write(sample_config(d, "clock: event, interval_ms: 1000, flush_ms: 60000")
                    + "security: {curve: {secret_key: server.key_secret, "
                      "authorized_keys: clients}}\n")
        daemon = subprocess.Popen([TICKCASTD, "--config", os.path.join(d, "tickcast.yaml")],
                                  stdout=log, stderr=subprocess.STDOUT)
        alice = os.path.join(d, "clients", "alice.key_secret")
        end, st = time.monotonic() + 10, None
        while st is None and time.monotonic() < end and daemon.poll() is None:
            st = status(zmq, ns, d, alice, 300)
        log.seek(0)
        report(st is not None and st["security"] == {"curve": True, "refused": 0}, log.read())
        if st is None:
            for _ in TESTS[3:]:
                report(False, "no daemon")
            return 1

        ctx = zmq.Context.instance()
        server = os.path.join(d, "server.key")
        sub = ns["curve_socket"](ctx, zmq.SUB, f"ipc://{d}/out", server, alice)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        pub = ns["curve_socket"](ctx, zmq.PUB, f"ipc://{d}/in", server, alice)
        # A bucket each until a forecast comes back: both ends are connected (PUB drops
        # what it sends before its connection is up, so not every probe is taken).
        probe, got = 0, None
        while probe < 100 and got is None:
            pub.send(f"py.curve 0.5 {T0 + probe}\n".encode())
            probe += 1
            if sub.poll(100):
                got = sub.recv_multipart()
        st = status(zmq, ns, d, alice, 2000)
        report(got is not None and got[0].startswith(b"forecast.py.curve")
               and st and 2 <= st["readings"]["accepted"] <= probe,
               f"{got} {st and st['readings']}")

        mallory = os.path.join(d, "others", "mallory.key_secret")
        refused = status(zmq, ns, d, mallory, 500)
        st = status(zmq, ns, d, alice, 2000)
        report(refused is None and st and st["security"]["refused"] >= 1,
               f"{refused} {st and st['security']}")
        pub.close(linger=0)
        sub.close(linger=0)
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        daemon = None
        log.seek(0)
        report(rc == 0, "" if rc == 0 else f"exit {rc}\n{log.read()[-2000:]}")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        zmq.Context.instance().destroy(linger=0)
        log.close()
        shutil.rmtree(d, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
