#!/usr/bin/python3
"""test_export.py -- tools/export.py: PyTorch modules and the article's GRU to
tickcast, each export checked by `tickcast check` and verified against
`tickcast replay`. Prints TAP; every case is skipped, saying so, when PyTorch
(or numpy) cannot be imported.

Environment: TC_TICKCAST (the tickcast binary; default build/cli/tickcast),
TC_SOURCE_ROOT (the repository; default this file's parent folder).
"""
import os
import subprocess
import sys
import tempfile
import traceback

ROOT = os.environ.get("TC_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKCAST = os.environ.get("TC_TICKCAST") or os.path.join(ROOT, "build", "cli", "tickcast")
TOLERANCE = 1e-4

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def check_config(info):
    run = subprocess.run([TICKCAST, "check", "--config", info.config],
                         capture_output=True, text=True)
    assert run.returncode == 0, f"tickcast check: exit {run.returncode}: {run.stderr.strip()}"


class Comments:
    """A stream for verify()'s report that writes TAP comment lines."""

    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                print(f"# {line.strip()}")

    def flush(self):
        pass


def verified(worst):
    assert worst < TOLERANCE, f"largest difference {worst:.3g} >= {TOLERANCE:g}"


def expect_refusal(module, *needles):
    try:
        export.export_module(module, tmp(), "refused")
    except export.ExportError as e:
        text = str(e)
        print(f"# refused: {text}")
        for n in needles:
            assert n in text, f"{n!r} not in the error: {text}"
        assert not os.path.exists(os.path.join(tmp(), "refused.yaml")), "a refused export wrote files"
        return
    raise AssertionError("export_module accepted it")


_TMP = []


def tmp():
    return _TMP[0]


# --------------------------------------------------------------------------

@case
def multi_layer_custom_names_seq_first():
    """a 3-layer nn.GRU at `core`, head at `proj_out`, batch_first=False"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.aux = nn.Linear(7, 3)            # not the head: in_features != hidden
            self.core = nn.GRU(1, 16, num_layers=3)
            self.proj_out = nn.Linear(16, 5)

        def forward(self, x):                     # (steps, batch, 1)
            out, _ = self.core(x)
            return self.proj_out(out)

    torch.manual_seed(1)
    m = Net()
    info = export.export_module(m, tmp(), "seqfirst", horizon_note="5 ticks ahead")
    assert info.tensors == {"gru": "core", "head": "proj_out"}, info.tensors
    assert info.layers == [16, 16, 16] and info.input_size == 1 and info.outputs == 5
    assert "core.weight_hh_l2" in info.names and "proj_out.bias" in info.names, info.names
    text = open(info.config).read()
    assert "tensors: {gru: core, head: proj_out}" in text, text
    assert "reset_after: true" in text
    check_config(info)
    verified(export.verify_module(m, tmp(), "seqfirst", series=4, steps=9, out=Comments()))


@case
def sequential_batch_first_quoted_prefixes():
    """nn.Sequential(nn.GRU(batch_first=True), nn.Linear): prefixes "0" and "1", quoted"""
    torch.manual_seed(2)
    m = nn.Sequential(nn.GRU(1, 8, num_layers=2, batch_first=True), nn.Linear(8, 4))
    info = export.export_module(m, tmp(), "seq")
    assert info.tensors == {"gru": "0", "head": "1"}, info.tensors
    text = open(info.config).read()
    assert 'tensors: {gru: "0", head: "1"}' in text, text
    assert "0.weight_ih_l1" in info.names and "1.weight" in info.names, info.names
    check_config(info)
    verified(export.verify_module(m, tmp(), "seq", out=Comments()))


@case
def input_size_three_nested():
    """input_size 3, nn.GRU two modules deep, batch_first=True, horizon 4 x 3 outputs"""

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 12, num_layers=2, batch_first=True, dropout=0.1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Module()
            self.encoder.inner = Encoder()
            self.head = nn.Linear(12, 12)

        def forward(self, x):
            out, _ = self.encoder.inner.rnn(x)
            return self.head(out[:, -1])          # the last step's forecast only

    torch.manual_seed(3)
    m = Net()
    info = export.export_module(m, tmp(), "three")
    assert info.tensors == {"gru": "encoder.inner.rnn", "head": "head"}, info.tensors
    assert info.input_size == 3 and info.outputs == 12
    assert "input_size: 3" in open(info.config).read()
    check_config(info)
    verified(export.verify_module(m, tmp(), "three", series=6, steps=5, out=Comments()))


@case
def article_params():
    """the article's W_xz ... b_q as a list and as a dict: reset_after: false"""
    torch.manual_seed(4)
    n_in, n_h, n_out = 2, 16, 4
    shapes = {"W_xz": (n_in, n_h), "W_hz": (n_h, n_h), "b_z": (n_h,),
              "W_xr": (n_in, n_h), "W_hr": (n_h, n_h), "b_r": (n_h,),
              "W_xh": (n_in, n_h), "W_hh": (n_h, n_h), "b_h": (n_h,),
              "W_hq": (n_h, n_out), "b_q": (n_out,)}
    params = [0.4 * torch.randn(*shapes[n]) for n in article_gru.PARAM_NAMES]
    info = export.export_article(params, tmp(), "article")
    assert not info.reset_after
    text = open(info.config).read()
    assert "reset_after: false" in text, text
    assert "tensors: {gru: gru, head: fc}" in text, text
    assert info.input_size == n_in and info.layers == [n_h] and info.outputs == n_out
    check_config(info)
    verified(export.verify_article(params, tmp(), "article", series=5, steps=8, out=Comments()))
    as_dict = dict(zip(article_gru.PARAM_NAMES, params))
    export.export_article(as_dict, tmp(), "article_dict")
    verified(export.verify_article(as_dict, tmp(), "article_dict", out=Comments()))
    a = open(os.path.join(tmp(), "article.safetensors"), "rb").read()
    b = open(os.path.join(tmp(), "article_dict.safetensors"), "rb").read()
    assert a == b, "list and dict params wrote different files"


@case
def refuses_bidirectional():
    """a bidirectional nn.GRU is refused, saying why"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 8, bidirectional=True, batch_first=True)
            self.out = nn.Linear(8, 2)

    expect_refusal(Net(), "rnn", "bidirectional")


@case
def refuses_without_matching_linear():
    """no nn.Linear with in_features == hidden size: refused, naming the sizes"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 8)
            self.out = nn.Linear(16, 2)

    expect_refusal(Net(), "no nn.Linear with in_features 8", "rnn", "out (16 -> 2)")


@case
def refuses_several_grus():
    """two nn.GRU modules are refused, naming them"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.GRU(1, 8)
            self.b = nn.GRU(8, 4)
            self.fc = nn.Linear(4, 2)

    expect_refusal(Net(), "2 nn.GRU modules", "a, b")


@case
def cli_demo_module_and_article():
    """the CLI: --demo, --module with --state-dict, --article; exit 1 when PyTorch and replay disagree"""
    py = sys.executable
    tool = os.path.join(ROOT, "tools", "export.py")
    env = dict(os.environ, TC_TICKCAST=TICKCAST)

    def cli(*args, rc=0):
        run = subprocess.run([py, tool, *args], capture_output=True, text=True, env=env,
                             cwd=tmp())
        out = run.stdout + run.stderr
        assert run.returncode == rc, f"export.py {' '.join(args)}: exit {run.returncode}, " \
                                     f"expected {rc}:\n{out}"
        return out

    out = cli("--demo", "--out", os.path.join(tmp(), "demo"))
    assert "ok: largest difference" in out and "body.encoder" in out, out

    with open(os.path.join(tmp(), "mymodel.py"), "w") as f:
        f.write("import torch\n"
                "class M(torch.nn.Module):\n"
                "    def __init__(self):\n"
                "        super().__init__()\n"
                "        self.g = torch.nn.GRU(1, 10, num_layers=2, batch_first=True)\n"
                "        self.lin = torch.nn.Linear(10, 3)\n"
                "    def forward(self, x):\n"
                "        return self.lin(self.g(x)[0])\n"
                "def make():\n"
                "    return M()\n"
                "class Doubled(M):\n"
                "    def forward(self, x):\n"
                "        return 2 * super().forward(x)\n"
                "doubled = Doubled\n")
    sys.path.insert(0, tmp())
    import mymodel                                # noqa: E402  (written just above)
    torch.manual_seed(5)
    trained = mymodel.make()
    torch.save(trained.state_dict(), os.path.join(tmp(), "m.pt"))
    out = cli("--module", "mymodel:make", "--state-dict", "m.pt", "--out", "cli", "--name", "mm")
    assert "ok: largest difference" in out, out
    sd = read_safetensors(os.path.join(tmp(), "cli", "mm.safetensors"))
    assert torch.equal(torch.from_numpy(sd["g.weight_ih_l1"]), trained.g.weight_ih_l1.detach()), \
        "--state-dict weights were not the ones exported"

    params = [0.3 * torch.randn(*s) for s in
              [(1, 6), (6, 6), (6,), (1, 6), (6, 6), (6,), (1, 6), (6, 6), (6,), (6, 3), (3,)]]
    torch.save(params, os.path.join(tmp(), "article.pt"))
    out = cli("--article", "article.pt", "--out", "art")
    assert "reset_after: false" in out and "ok: largest difference" in out, out

    # Served as nn.GRU instead, the article's model must fail verification.
    cfg = os.path.join(tmp(), "art", "model.yaml")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("reset_after: false", "reset_after: true"))
    worst = export.verify_article(params, os.path.join(tmp(), "art"), "model", out=Comments())
    assert worst > TOLERANCE, f"reset_after: true went unnoticed ({worst:.3g})"
    print(f"# reset_after: true instead of false: largest difference {worst:.3g}, caught")
    # A forward that does more than GRU -> Linear cannot be served: exit 1.
    out = cli("--module", "mymodel:doubled", "--out", "dbl", rc=1)
    assert "FAIL: largest difference" in out, out
    out = cli("--module", "mymodel:nothing", "--out", "x", rc=2)
    assert "has no nothing" in out, out


def main():
    global torch, nn, export, article_gru, read_safetensors
    print(f"1..{len(CASES)}")
    try:
        import numpy  # noqa: F401
        import torch
        from torch import nn
    except ImportError as e:
        for i, fn in enumerate(CASES, 1):
            print(f"ok {i} - {fn.__doc__.strip()} # SKIP PyTorch not installed "
                  f"(/usr/bin/python3: {e}; Debian: apt-get install python3-torch)")
        return 0
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import article_gru
    import export
    from safetensors_io import read_safetensors
    torch.set_num_threads(1)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tc-test-export-") as d:
        _TMP.append(d)
        for i, fn in enumerate(CASES, 1):
            try:
                fn()
                print(f"ok {i} - {fn.__doc__.strip()}")
            except Exception:  # noqa: BLE001
                failed += 1
                print(f"not ok {i} - {fn.__doc__.strip()}")
                for line in traceback.format_exc().splitlines():
                    print(f"# {line}")
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
