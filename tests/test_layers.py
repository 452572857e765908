#!/usr/bin/python3
"""test_layers.py -- the code folders are layers and every #include obeys them.

core <- config <- wire <- engine <- cluster <- daemon, cli: a folder may include its own
headers and those of the layers below it, never above or beside it, and only
the system headers its layer may use (no sockets or threads below cluster/,
daemon/ and cli/; NATS only in cluster/; OpenMP only in core/ and engine/). meson.build gives each library only the include
folders of the layers below it, so a wrong project include already fails to
compile; this test also catches the system headers, which every library can
see. Plain Python; prints TAP.

Environment: TC_SOURCE_ROOT (the repository; default this file's parent).
"""
import os
import re
import sys

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ORDER = ["core", "config", "wire", "engine", "cluster", "daemon", "cli"]
BELOW = {
    "core": [],
    "config": ["core"],
    "wire": ["core", "config"],
    "engine": ["core", "config", "wire"],
    "cluster": ["core", "config", "wire", "engine"],
    "daemon": ["core", "config", "wire", "engine", "cluster"],
    "cli": ["core", "config", "wire", "engine", "cluster"],
}
# System headers that only some layers may include, and which ones.
RESTRICTED = {
    "zmq.h": {"daemon", "cli"},
    "pthread.h": {"daemon", "cluster"},
    "nats/nats.h": {"cluster"},
    "nats.h": {"cluster"},
    "stdatomic.h": {"core", "daemon"},
    "signal.h": {"daemon", "cli"},
    "sys/signalfd.h": {"daemon"},
    "sys/inotify.h": {"daemon"},
    "systemd/sd-daemon.h": {"daemon"},
    "omp.h": {"core", "engine"},
    "yaml.h": {"config"},
    "microhttpd.h": {"daemon"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(folder):
    d = os.path.join(ROOT, folder)
    return sorted(f for f in os.listdir(d) if f.endswith((".c", ".h")))


def owners():
    """Which layer each project header belongs to."""
    return {f: layer for layer in ORDER for f in sources(layer) if f.endswith(".h")}


def violations(layer, owner):
    found = []
    for f in sources(layer):
        with open(os.path.join(ROOT, layer, f)) as src:
            text = src.read()
        for kind, name in INCLUDE.findall(text):
            where = "%s/%s includes %s" % (layer, f, name)
            if kind == '"':
                home = owner.get(name)
                if home is None:
                    found.append(where + ": not a header of any layer")
                elif home != layer and home not in BELOW[layer]:
                    found.append(where + ": a header of %s/, which is not below %s/" % (home, layer))
            elif name in RESTRICTED and layer not in RESTRICTED[name]:
                found.append(where + ": only %s may" % ", ".join(sorted(RESTRICTED[name])))
    return found


def main():
    owner = owners()
    # The rule itself must be able to fail: a daemon header included from
    # engine/, zmq.h included from wire/ and nats/nats.h from daemon/ are caught.
    tests = [("the checker catches an upward include and a forbidden system header",
              lambda: _checker_catches(owner))]
    for layer in ORDER:
        tests.append(("%s/ includes only its own layer and those below" % layer,
                      lambda layer=layer: violations(layer, owner)))
    print("TAP version 13")
    print("1..%d" % len(tests))
    failed = 0
    for i, (name, run) in enumerate(tests, 1):
        problems = run()
        if problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in problems:
                print("# " + p)
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


def _checker_catches(owner):
    """Runs the rule on two made-up files; returns what it failed to catch."""
    import tempfile
    global ROOT
    saved = ROOT
    with tempfile.TemporaryDirectory() as tmp:
        for layer in ORDER:
            os.mkdir(os.path.join(tmp, layer))
        with open(os.path.join(tmp, "engine", "bad.c"), "w") as f:
            f.write('#include "ticker.h"\n')
        with open(os.path.join(tmp, "wire", "bad.c"), "w") as f:
            f.write("#include <zmq.h>\n")
        with open(os.path.join(tmp, "daemon", "bad.c"), "w") as f:
            f.write("#include <nats/nats.h>\n")
        ROOT = tmp
        try:
            missed = []
            if not violations("engine", owner):
                missed.append("engine/bad.c including ticker.h was not caught")
            if not violations("wire", owner):
                missed.append("wire/bad.c including zmq.h was not caught")
            if not violations("daemon", owner):
                missed.append("daemon/bad.c including nats/nats.h was not caught")
        finally:
            ROOT = saved
    return missed


if __name__ == "__main__":
    sys.exit(main())
