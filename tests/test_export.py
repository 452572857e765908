#!/usr/bin/python3
"""test_export.py -- tools/export.py: PyTorch modules and the article's GRU to
tickcast, each export checked by `tickcast check` and verified against
`tickcast replay`; the stacks (nn.LSTM, nn.RNN, several recurrent modules, MLP
heads) are also run from the files they wrote by tools/golden_stack.py's numpy
model and compared with the module's own forward, which checks the mapping
without tickcast. Prints TAP; every case is skipped, saying so, when PyTorch
(or numpy) cannot be imported.

Environment: TC_TICKCAST (the tickcast binary; default build/cli/tickcast),
TC_SOURCE_ROOT (the repository; default this file's parent folder).
"""
import copy
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

    expect_refusal(Net(), "out: in_features 16", "rnn before it gives 8")


@case
def refuses_recurrent_sizes_that_do_not_chain():
    """a recurrent module whose input_size is not the previous one's hidden size is refused"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.GRU(1, 8)
            self.b = nn.LSTM(16, 4)
            self.fc = nn.Linear(4, 2)

    expect_refusal(Net(), "b: input_size 16", "a before it gives 8")


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

# --------------------------------------------------------------------------
# Stacks and MLP heads
# --------------------------------------------------------------------------

def from_files(info):
    """The export's config and weights as a tools/golden_stack.py StackSpec,
    read back the way tickcast reads them (every layer's module and index,
    every head item's module as written)."""
    model = yaml.safe_load(open(info.config))["model"]
    head = model["head"] if isinstance(model["head"], list) else [model["head"]]
    layers = [golden_stack.Layer(it["type"], it["hidden"], it["module"], it["index"],
                                 it.get("nonlinearity", "tanh")) for it in model["layers"]]
    ops = [golden_stack.Op(it["type"], it.get("module"), it.get("outputs", 0), it.get("eps"),
                           it.get("affine", True), it.get("approximate", "none"))
           for it in head]
    spec = golden_stack.StackSpec(model["input_size"], layers, ops, {})
    spec.tensors = read_safetensors(info.weights)
    return spec


def offline(info, module, batch_first=True, series=3, steps=6):
    """The files, run by golden_stack's numpy model in float64, against the
    module's own forward: the mapping is right without tickcast."""
    spec = from_files(info)
    ref = copy.deepcopy(module).float().double().eval()
    x = torch.randn(series, steps, spec.input_size, dtype=torch.float64)
    with torch.no_grad():
        want = ref(x if batch_first else x.transpose(0, 1))
    want = (want if batch_first else want.transpose(0, 1)).numpy()
    model = golden_stack.NumpyStack(spec)
    hs = [numpy.zeros((series, w)) for w in spec.state_widths()]
    for t in range(steps):
        hs, y = model.step(x[:, t].numpy(), hs)
        d = float(numpy.abs(y - want[:, t]).max())
        assert d < 1e-9, f"step {t}: the exported files give {y}, the module {want[:, t]}"
    print(f"# {info.config}: the files, run in numpy, match the module's forward")


def stack_export(m, name, batch_first=True):
    info = export.export_module(m, tmp(), name)
    offline(info, m, batch_first)
    return info, open(info.config).read()


def stack_verified(m, name, info):
    check_config(info)
    verified(export.verify_module(m, tmp(), name, out=Comments()))


@case
def lstm_two_layers_linear_head():
    """nn.LSTM(1, 12, num_layers=2) + nn.Linear: lstm layers with module and index"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 12, num_layers=2, batch_first=True)
            self.fc = nn.Linear(12, 4)

        def forward(self, x):
            return self.fc(self.lstm(x)[0])

    torch.manual_seed(11)
    m = Net()
    info, text = stack_export(m, "lstm2")
    assert info.types == ["lstm", "lstm"] and info.layers == [12, 12], info
    assert "- {type: lstm, hidden: 12, module: lstm, index: 0}" in text, text
    assert "- {type: lstm, hidden: 12, module: lstm, index: 1}" in text, text
    assert "head: {type: linear, outputs: 4, module: fc}" in text, text
    assert info.names.count("lstm.weight_ih_l1") == 1 and "fc.bias" in info.names
    stack_verified(m, "lstm2", info)


@case
def rnn_relu_sequence_first_no_bias():
    """nn.RNN(relu, bias=False), batch_first=False: nonlinearity written, zero biases"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(1, 10, nonlinearity="relu", bias=False)
            self.out = nn.Linear(10, 3, bias=False)

        def forward(self, x):                     # (steps, batch, 1)
            return self.out(self.rnn(x)[0])

    torch.manual_seed(12)
    m = Net()
    info, text = stack_export(m, "rnnrelu", batch_first=False)
    assert "- {type: rnn, hidden: 10, nonlinearity: relu, module: rnn, index: 0}" in text, text
    sd = read_safetensors(info.weights)
    assert sd["rnn.bias_ih_l0"].shape == (10,) and not sd["rnn.bias_ih_l0"].any()
    assert sd["out.bias"].shape == (3,) and not sd["out.bias"].any()
    assert any("bias=False" in n for n in info.notes), info.notes
    stack_verified(m, "rnnrelu", info)


@case
def gru_then_lstm_then_mlp_head():
    """nn.GRU(num_layers=2) `gru` -> nn.LSTM `lstm` -> Sequential(Linear, ReLU, Linear) `head`"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 16, num_layers=2, batch_first=True)
            self.lstm = nn.LSTM(16, 8, batch_first=True)
            self.head = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 6))

        def forward(self, x):
            return self.head(self.lstm(self.gru(x)[0])[0])

    torch.manual_seed(13)
    m = Net()
    info, text = stack_export(m, "mixed")
    assert info.types == ["gru", "gru", "lstm"] and info.layers == [16, 16, 8], info
    assert info.head == ["linear", "relu", "linear"] and info.outputs == 6, info
    for line in ("- {type: gru, hidden: 16, module: gru, index: 1}",
                 "- {type: lstm, hidden: 8, module: lstm, index: 0}",
                 "- {type: linear, outputs: 12, module: head.0}", "- {type: relu}",
                 "- {type: linear, outputs: 6, module: head.2}"):
        assert line in text, (line, text)
    assert "head.2.weight" in info.names and "lstm.bias_hh_l0" in info.names, info.names
    stack_verified(m, "mixed", info)


@case
def lstm_input3_layernorm_gelu_attributes():
    """nn.LSTM(3, ...), a head of attributes: Linear, LayerNorm(1e-3), GELU(tanh), Dropout, Sigmoid"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.LSTM(3, 20, batch_first=True)
            self.fc1 = nn.Linear(20, 16)
            self.norm = nn.LayerNorm(16, eps=1e-3)
            self.act = nn.GELU(approximate="tanh")
            self.drop = nn.Dropout(0.3)
            self.fc2 = nn.Linear(16, 6)
            self.squash = nn.Sigmoid()

        def forward(self, x):
            y = self.drop(self.act(self.norm(self.fc1(self.enc(x)[0]))))
            return self.squash(self.fc2(y))

    torch.manual_seed(14)
    m = Net()
    with torch.no_grad():                         # not the trivial 1 and 0
        m.norm.weight.uniform_(0.5, 1.5)
        m.norm.bias.uniform_(-0.5, 0.5)
    info, text = stack_export(m, "lnorm")
    assert info.input_size == 3 and info.head == ["linear", "layernorm", "gelu", "dropout",
                                                  "linear", "sigmoid"], info
    for line in ("- {type: layernorm, eps: 0.001, affine: true, module: norm}",
                 "- {type: gelu, approximate: tanh}", "- {type: dropout}", "- {type: sigmoid}",
                 "- {type: linear, outputs: 6, module: fc2}"):
        assert line in text, (line, text)
    stack_verified(m, "lnorm", info)


@case
def rnn_tanh_stack_gelu_tanh_plain_layernorm():
    """two nn.RNNs of different sizes; head Linear, Tanh, GELU, LayerNorm(no affine), Linear"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.ModuleList([nn.RNN(2, 13, batch_first=True),
                                       nn.RNN(13, 7, batch_first=True)])
            self.head = nn.Sequential(nn.Linear(7, 8), nn.Tanh(), nn.GELU(),
                                      nn.LayerNorm(8, elementwise_affine=False),
                                      nn.Linear(8, 3))

        def forward(self, x):
            for r in self.body:
                x = r(x)[0]
            return self.head(x)

    torch.manual_seed(15)
    m = Net()
    info, text = stack_export(m, "rnnstack")
    assert "- {type: rnn, hidden: 7, nonlinearity: tanh, module: body.1, index: 0}" in text, text
    assert "- {type: gelu}" in text and "affine: false, module: head.3}" in text, text
    stack_verified(m, "rnnstack", info)


@case
def refuses_proj_size():
    """an nn.LSTM with proj_size is refused, naming it"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Module()
            self.enc.lstm = nn.LSTM(1, 8, proj_size=4)
            self.fc = nn.Linear(4, 2)

    expect_refusal(Net(), "enc.lstm", "proj_size=4")


@case
def refuses_bidirectional_lstm():
    """a bidirectional nn.LSTM after an nn.GRU is refused, naming it"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 8)
            self.lstm = nn.LSTM(8, 8, bidirectional=True)
            self.fc = nn.Linear(16, 2)

    expect_refusal(Net(), "lstm: a bidirectional LSTM")


@case
def refuses_unknown_head_layer():
    """an nn.BatchNorm1d in the head is refused, naming the module and its type"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(1, 8)
            self.head = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))

    expect_refusal(Net(), "head.1: BatchNorm1d is not a head layer")


@case
def refuses_recurrent_after_head():
    """an nn.LSTM registered after a Linear that follows an nn.GRU is refused"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 8)
            self.mid = nn.Linear(8, 8)
            self.lstm = nn.LSTM(8, 4)
            self.fc = nn.Linear(4, 2)

    expect_refusal(Net(), "lstm: an LSTM registered after mid (Linear)")


@case
def refuses_layernorm_over_two_dims():
    """nn.LayerNorm([2, 4]) in the head is refused"""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 8)
            self.fc = nn.Linear(8, 8)
            self.norm = nn.LayerNorm([2, 4])
            self.out = nn.Linear(8, 2)

    expect_refusal(Net(), "norm: nn.LayerNorm over [2, 4]")


@case
def cli_stack_and_refusals():
    """the CLI: LSTM + MLP with --no-verify; exit 2 naming the module: proj_size, bidirectional, Conv1d"""
    with open(os.path.join(tmp(), "stacks.py"), "w") as f:
        f.write("import torch\n"
                "from torch import nn\n"
                "class S(nn.Module):\n"
                "    def __init__(self, **kw):\n"
                "        super().__init__()\n"
                "        self.lstm = nn.LSTM(2, 6, num_layers=2, batch_first=True, **kw)\n"
                "        self.head = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4))\n"
                "def good():\n"
                "    return S()\n"
                "def proj():\n"
                "    return S(proj_size=3)\n"
                "def bidir():\n"
                "    return S(bidirectional=True)\n"
                "def conv():\n"
                "    m = S()\n"
                "    m.head.add_module('3', nn.Conv1d(4, 4, 1))\n"
                "    return m\n")
    tool = os.path.join(ROOT, "tools", "export.py")
    for factory, rc, needles in (("good", 0, ["lstm 6, lstm 6", "linear relu linear"]),
                                 ("proj", 2, ["lstm: ", "proj_size=3"]),
                                 ("bidir", 2, ["lstm: a bidirectional LSTM"]),
                                 ("conv", 2, ["head.3: Conv1d is not a head layer"])):
        run = subprocess.run([sys.executable, tool, "--module", f"stacks:{factory}",
                              "--out", factory, "--no-verify"],
                             capture_output=True, text=True, cwd=tmp())
        out = run.stdout + run.stderr
        assert run.returncode == rc, f"{factory}: exit {run.returncode}, expected {rc}:\n{out}"
        for n in needles:
            assert n in out, f"{factory}: {n!r} not in:\n{out}"
    text = open(os.path.join(tmp(), "good", "model.yaml")).read()
    assert "- {type: lstm, hidden: 6, module: lstm, index: 1}" in text, text



def main():
    global torch, nn, numpy, yaml, export, article_gru, golden_stack, read_safetensors
    print(f"1..{len(CASES)}")
    try:
        import numpy
        import torch
        import yaml                               # python3-torch depends on python3-yaml
        from torch import nn
    except ImportError as e:
        for i, fn in enumerate(CASES, 1):
            print(f"ok {i} - {fn.__doc__.strip()} # SKIP PyTorch not installed "
                  f"(/usr/bin/python3: {e}; Debian: apt-get install python3-torch)")
        return 0
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import article_gru
    import export
    import golden_stack
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
