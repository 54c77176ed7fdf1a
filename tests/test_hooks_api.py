"""The hook API on both backends: names, caches, hooks, cleanup, parity.

Oracles: a forward computed by hand (layer by layer) on the engine; torch's own modules; and,
across backends, the same weights in float64, where caches must agree to the issue's 1e-6
(they agree to ~1e-15: the same arithmetic up to summation order).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tinylens as tl
from tinylens.engine import small_cnn
from tinylens.errors import ConfigError, ShapeError, UnknownNameError
from tinylens.hooks import HookedModule, evaluating

PARITY_TOL = 1e-6  # the requirement for caches of the same float64 weights
F32_TOL = 1e-5  # float32 networks: rounding over a few hundred products of O(1) values


def _mlp(dtype=np.float64):
    return tl.MLP([6, 5, 4, 3], rng=0, dtype=dtype)


def _x(n=7, d=6, seed=1):
    return np.random.default_rng(seed).normal(size=(n, d))


def _all_hooks(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


class Custom(nn.Module):
    """An ordinary model: custom forward, one ReLU module reused, a ModuleList."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 8)
        self.act = nn.ReLU()
        self.blocks = nn.ModuleList([nn.Linear(8, 8), nn.Tanh()])
        self.head = nn.Sequential(nn.Linear(8, 5), nn.ReLU(), nn.Linear(5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        h = self.act(self.fc2(h))
        h = self.blocks[1](self.blocks[0](h))
        return self.head(h)


# -- the engine ---------------------------------------------------------------------------------


def test_engine_hooked_is_the_network_itself_and_cache_matches_a_hand_forward():
    net = _mlp()
    assert tl.hooked(net) is net
    x = _x()
    out, cache = net.run_with_cache(x)
    assert list(cache) == net.hook_names == [f"layers.{i}" for i in range(5)]
    h = x
    for i, m in enumerate(net.layers):  # the oracle: each module applied by hand
        h = m.forward(h)
        np.testing.assert_array_equal(cache[f"layers.{i}"], h)
    np.testing.assert_array_equal(out, h)
    np.testing.assert_array_equal(out, net.forward(x))
    assert isinstance(cache["layers.1"], np.ndarray)
    with pytest.raises(ValueError, match="read-only"):
        cache["layers.1"][0, 0] = 1.0  # the network keeps these arrays for its backward


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (None, ["layers.0", "layers.1", "layers.2", "layers.3", "layers.4"]),
        ("layers.3", ["layers.3"]),
        (["layers.3", "layers.1"], ["layers.1", "layers.3"]),
        ("layers.[13]", ["layers.1", "layers.3"]),
        (["layers.0", "layers.[34]"], ["layers.0", "layers.3", "layers.4"]),
        (lambda n: n.endswith(("2", "4")), ["layers.2", "layers.4"]),
    ],
)
def test_names_select_by_list_glob_or_predicate_on_both_backends(names, expected):
    net = _mlp()
    hm = tl.hooked(tl.to_torch(net))
    for model in (net, hm):
        _, cache = model.run_with_cache(_x(), names=names)
        assert list(cache) == expected


def test_unknown_names_list_close_matches_everywhere():
    net = _mlp()
    hm = tl.hooked(tl.to_torch(net))
    for model in (net, hm):
        with pytest.raises(UnknownNameError, match=r"did you mean 'layers\.1'"):
            model.run_with_cache(_x(), names=["layer.1"])
        with pytest.raises(UnknownNameError, match=r"unknown hook point 'layers\.9'"):
            model.run_with_hooks(_x(), [("layers.9", lambda a, n: None)])
        with pytest.raises(UnknownNameError, match=r"pattern 'conv\.\*'"):
            model.run_with_cache(_x(), names="conv.*")
        _, cache = model.run_with_cache(_x(), names="layers.1")
        with pytest.raises(UnknownNameError, match=r"did you mean 'layers\.1'"):
            cache["layer.1"]
        with pytest.raises(UnknownNameError, match="chooses what is kept"):
            cache["layers.3"]  # a real hook point that was not cached says how to get it
        with pytest.raises(KeyError):  # still a KeyError for code that expects one
            cache["nope"]
        assert "layers.3" not in cache and "layers.1" in cache


def test_engine_run_with_hooks_replaces_and_checks_shapes():
    net = _mlp()
    x = _x()
    seen = []

    def zero_unit_2(act, name):
        seen.append((name, act.shape))
        new = act.copy()
        new[:, 2] = 0.0
        return new

    out = net.run_with_hooks(x, [("layers.1", zero_unit_2)])
    h = net.layers[1].forward(net.layers[0].forward(x)).copy()
    h[:, 2] = 0.0
    for m in net.layers[2:]:
        h = m.forward(h)
    np.testing.assert_array_equal(out, h)
    assert seen == [("layers.1", (7, 5))]
    with pytest.raises(ShapeError, match=r"hook on layers.1 returned shape \(7, 4\)"):
        net.run_with_hooks(x, [("layers.1", lambda a, n: a[:, :4])])
    with pytest.raises(ValueError, match="read-only"):  # write a replacement, not in place
        net.run_with_hooks(x, [("layers.1", lambda a, n: a.__setitem__((0, 0), 1.0))])
    assert net.n_hooks == 0


def test_engine_hooks_never_leak_even_when_the_block_or_a_name_fails():
    net = _mlp()
    with pytest.raises(ZeroDivisionError), net.hooks([("layers.*", lambda a, n: None)]):
        assert net.n_hooks == 5
        1 / 0
    assert net.n_hooks == 0 and net._fwd_hooks == {}
    with pytest.raises(RuntimeError):
        net.run_with_hooks(_x(), [("layers.1", lambda a, n: (_ for _ in ()).throw(RuntimeError))])
    assert net.n_hooks == 0
    # A bad name anywhere in the list: nothing is added at all.
    bad = [("layers.1", lambda a, n: None), ("layers.7", lambda a, n: None)]
    with pytest.raises(UnknownNameError), net.hooks(bad):
        pass
    assert net.n_hooks == 0
    with pytest.raises(ConfigError, match=r"\(name, fn\) pairs"):
        net.run_with_hooks(_x(), [("layers.1",)])
    # Handles remove exactly their own hook, even when one function is added twice.
    fn = lambda a, n: None  # noqa: E731
    h1, h2 = net.add_hook("layers.1", fn), net.add_hook("layers.1", fn)
    h1.remove()
    h1.remove()  # harmless
    assert net.n_hooks == 1
    h2.remove()
    assert net.n_hooks == 0
    net.add_hook("layers.[01]", fn)
    assert net.copy().n_hooks == 0 and net.n_hooks == 2
    net.reset_hooks()
    assert net.n_hooks == 0


def test_engine_forward_to_from_and_backward_from():
    net = _mlp()
    x = _x()
    for name in net.hook_names:
        mid = net.forward_to(x, name)
        np.testing.assert_array_equal(net.forward_from(name, mid), net.forward(x))
    # forward_from takes any batch: stacked copies run at once
    mid = net.forward_to(x, "layers.1")
    stacked = np.concatenate([mid, 2 * mid])
    np.testing.assert_array_equal(net.forward_from("layers.1", stacked)[: len(x)], net.forward(x))
    # backward_from: d activation[:, 3] / d input, checked against torch autograd
    net.forward_to(x, "layers.2")
    grad = np.zeros((len(x), 4))
    grad[:, 3] = 1.0
    dx = net.backward_from("layers.2", grad)
    xt = torch.tensor(x, requires_grad=True)
    tl.to_torch(net).layers[:3](xt)[:, 3].sum().backward()
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)


# -- torch --------------------------------------------------------------------------------------


def test_torch_wrapper_names_are_module_paths_and_wrapping_changes_nothing():
    model = Custom()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.from_numpy(_x().astype(np.float32))
    with torch.no_grad():
        plain = model(x)
    hm = tl.hooked(model)
    assert isinstance(hm, HookedModule) and tl.hooked(hm) is hm
    assert hm.hook_names == [n for n, _ in model.named_modules() if n and n != "blocks"]
    assert hm.hook_names == [
        "fc1",
        "fc2",
        "act",
        "blocks.0",
        "blocks.1",
        "head",
        "head.0",
        "head.1",
        "head.2",
    ]
    out, _ = hm.run_with_cache(x)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    with torch.no_grad():
        again = model(x)
    torch.testing.assert_close(again, plain, rtol=0, atol=0)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert type(model) is Custom and _all_hooks(model) == 0


def test_torch_cache_matches_a_hand_forward_including_a_reused_module():
    model = Custom()
    x = _x().astype(np.float32)
    out, cache = tl.hooked(model).run_with_cache(x)
    assert isinstance(out, np.ndarray)
    with torch.no_grad():
        t = torch.from_numpy(x)
        a1 = model.fc1(t)
        r1 = model.act(a1)
        a2 = model.fc2(r1)
        r2 = model.act(a2)
        b = model.blocks[1](model.blocks[0](r2))
        h0 = model.head[0](b)
        expected = {
            "fc1": a1,
            "act": r1,
            "fc2": a2,
            "act:1": r2,
            "blocks.0": model.blocks[0](r2),
            "blocks.1": b,
            "head.0": h0,
            "head.1": model.head[1](h0),
            "head.2": model(t),
            "head": model(t),
        }
    assert list(cache) == [
        "fc1",
        "act",
        "fc2",
        "act:1",
        "blocks.0",
        "blocks.1",
        "head.0",
        "head.1",
        "head.2",
        "head",
    ]  # the order in which the forward computed them
    for name, value in expected.items():
        np.testing.assert_array_equal(cache[name], value.numpy(), err_msg=name)
    np.testing.assert_array_equal(out, expected["head"].numpy())


def test_torch_hooks_target_every_call_or_one_call_of_a_reused_module():
    model = Custom()
    hm = tl.hooked(model)
    x = _x().astype(np.float32)
    seen: list[str] = []
    hm.run_with_hooks(x, [("act", lambda a, n: seen.append(n))])
    assert seen == ["act", "act:1"]
    zero_second = hm.run_with_hooks(x, [("act:1", lambda a, n: torch.zeros_like(a))])
    with torch.no_grad():
        t = torch.from_numpy(x)
        h = torch.zeros(len(x), 8)  # what the second ReLU call now returns
        expected = model.head(model.blocks[1](model.blocks[0](h)))
    np.testing.assert_allclose(zero_second, expected.numpy(), rtol=0, atol=0)
    # numbering restarts at every forward, however the model is called
    seen.clear()
    with hm.hooks([("act", lambda a, n: seen.append(n))]):
        model(t)
        model(t)
    assert seen == ["act", "act:1", "act", "act:1"]
    assert _all_hooks(model) == 0


def test_torch_hooks_never_leak_after_exceptions():
    model = Custom()
    hm = tl.hooked(model)
    x = _x().astype(np.float32)
    every = [("*", lambda a, n: None), ("act:1", lambda a, n: None)]
    with pytest.raises(ZeroDivisionError), hm.hooks(every):
        assert _all_hooks(model) > 0
        1 / 0
    assert _all_hooks(model) == 0
    with pytest.raises(RuntimeError, match="boom"):
        hm.run_with_hooks(x, [("fc2", lambda a, n: (_ for _ in ()).throw(RuntimeError("boom")))])
    assert _all_hooks(model) == 0
    with pytest.raises(RuntimeError):  # the model itself fails (wrong width) mid-cache
        hm.run_with_cache(np.zeros((2, 5), dtype=np.float32))
    assert _all_hooks(model) == 0
    bad = [("fc1", lambda a, n: None), ("fc3", lambda a, n: None)]
    with pytest.raises(UnknownNameError, match="did you mean 'fc2'"), hm.hooks(bad):
        pass
    assert _all_hooks(model) == 0
    with pytest.raises(ShapeError, match=r"hook on fc2 returned shape \(7, 4\)"):
        hm.run_with_hooks(x, [("fc2", lambda a, n: a[:, :4])])
    assert _all_hooks(model) == 0
    handle = hm.add_hook("act", lambda a, n: None)
    hm.add_hook("head.*", lambda a, n: None)
    assert hm.n_hooks > 0
    handle.remove()
    hm.reset_hooks()
    assert _all_hooks(model) == 0 and hm.n_hooks == 0


def test_torch_replacements_may_be_arrays_and_gradients_flow_through_hooks():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    hm = tl.hooked(seq)
    x = torch.tensor(_x(5, 3), requires_grad=True)
    out = hm.run_with_hooks(x, [("1", lambda a, n: a * 2.0)])
    assert isinstance(out, torch.Tensor)
    out.sum().backward()
    doubled = x.grad.clone()
    x.grad = None
    seq(x).sum().backward()
    torch.testing.assert_close(doubled, 2 * x.grad)
    arr = hm.run_with_hooks(_x(5, 3), [("1", lambda a, n: np.zeros(tuple(a.shape)))])
    np.testing.assert_allclose(arr, np.broadcast_to(seq[2].bias.detach().numpy(), (5, 1)))


def test_inplace_operations_after_a_hook_point_do_not_corrupt_the_cache():
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(6, 8), nn.ReLU(inplace=True), nn.Linear(8, 2))
    x = torch.from_numpy(_x().astype(np.float32))
    _, cache = tl.hooked(seq).run_with_cache(x)
    with torch.no_grad():
        pre = seq[0](x)
    assert (pre < 0).any()  # the in-place ReLU overwrote these values in the live tensor
    np.testing.assert_array_equal(cache["0"], pre.numpy())


def test_torch_forward_to_stops_early_and_forward_from_runs_the_rest():
    model = tl.to_torch(_mlp())
    hm = tl.hooked(model)
    x = _x()
    ran: list[str] = []
    with hm.hooks([("layers.*", lambda a, n: ran.append(n))]):
        mid = hm.forward_to(x, "layers.1")
        assert ran == ["layers.0", "layers.1"]  # nothing after the point ran
        ran.clear()
        rest = hm.forward_from("layers.1", mid)
        assert ran == ["layers.2", "layers.3", "layers.4"]
    np.testing.assert_allclose(rest, hm(x), rtol=0, atol=1e-15)
    nested = nn.Sequential(nn.Sequential(nn.Linear(6, 4), nn.ReLU()), nn.Linear(4, 2)).double()
    hn = tl.hooked(nested)
    np.testing.assert_allclose(hn.forward_from("0.0", hn.forward_to(x, "0.0")), hn(x), atol=1e-15)
    custom = tl.hooked(Custom())
    assert custom.suffix("fc2") is None and custom.suffix("head.0") is None
    with pytest.raises(ConfigError, match="custom"):
        custom.forward_from("fc2", np.zeros((2, 8)))


def test_caches_hold_what_hooks_replaced_and_outputs_without_a_tensor_are_refused_by_name():
    net = _mlp()
    module = tl.to_torch(net)
    double = [("layers.1", lambda a, n: a * 2)]
    for model in (net, tl.hooked(module)):
        with model.hooks(double):
            _, cache = model.run_with_cache(_x(), names=["layers.1", "layers.2"])
        _, plain = model.run_with_cache(_x(), names=["layers.1"])
        np.testing.assert_allclose(cache["layers.1"], 2 * plain["layers.1"], atol=1e-15)

    class NoTensor(nn.Module):
        def forward(self, x):
            return {"out": x}

    class WithDict(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wrap = NoTensor()
            self.head = nn.Linear(3, 2)
            self.unused = nn.Linear(2, 2)

        def forward(self, x):
            return self.head(self.wrap(x)["out"])

    hm = tl.hooked(WithDict())
    x = np.zeros((2, 3), dtype=np.float32)
    _, cache = hm.run_with_cache(x)
    assert list(cache) == ["head"]  # the dict output and the module that never ran are absent
    with pytest.raises(ConfigError, match="'wrap' produced no tensor"):
        hm.run_with_cache(x, names=["wrap"])
    with pytest.raises(ConfigError, match="'unused' produced no tensor"):
        hm.run_with_cache(x, names=["head", "unused"])
    assert _all_hooks(hm.model) == 0


class Recurrent(nn.Module):
    """(batch, position, 3) -> LSTM (returns (output, (h, c))) -> attention (returns (output,
    weights)) -> the last position -> 2."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rnn = nn.LSTM(3, 4, batch_first=True)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.head = nn.Linear(4, 2)

    def forward(self, x, key_padding_mask=None):
        out, _ = self.rnn(x)
        out, _ = self.attn(out, out, out, key_padding_mask=key_padding_mask)
        return self.head(out[:, -1])


def _raw_first(model, module, x, edit=None, **kwargs):
    """Oracle: a raw torch forward hook that records (and optionally edits) output[0]."""
    seen = []

    def hook(m, args, out):
        seen.append(out[0].detach().clone())
        if edit is not None:
            return (edit(out[0]), *out[1:])
        return None

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            y = model(torch.from_numpy(x), **kwargs)
    finally:
        handle.remove()
    return y.numpy(), seen[0].numpy()


def test_tuple_outputs_are_cached_and_edited_as_their_first_element():
    from tinylens.interventions import run_with_edits, zero_ablation

    model = Recurrent().double().eval()
    hm = tl.hooked(model)
    x = np.random.default_rng(0).normal(size=(3, 5, 3))
    out, cache = hm.run_with_cache(x, names=["rnn", "attn"])
    for name in ("rnn", "attn"):
        y, first = _raw_first(model, getattr(model, name), x)
        np.testing.assert_array_equal(cache[name], first)
        np.testing.assert_array_equal(out, y)
    assert cache["rnn"].shape == (3, 5, 4) and cache["attn"].shape == (3, 5, 4)
    np.testing.assert_array_equal(hm.forward_to(x, "rnn"), cache["rnn"])

    def zero_feature_1(t):
        new = t.clone()
        new[..., 1] = 0
        return new

    edited = run_with_edits(model, x, [zero_ablation("rnn", [1], axis=-1)])
    expected, _ = _raw_first(model, model.rnn, x, edit=zero_feature_1)
    np.testing.assert_array_equal(edited, expected)
    assert not np.allclose(edited, out)
    # the hook's replacement is what the cache holds; the rest of the tuple passes through
    with hm.hooks([("rnn", lambda a, n: zero_feature_1(a))]):
        _, edited_cache = hm.run_with_cache(x, names=["rnn"])
    assert not edited_cache["rnn"][..., 1].any()
    with pytest.raises(ShapeError, match="hook on rnn returned shape"):
        hm.run_with_hooks(x, [("rnn", lambda a, n: a[:, :2])])
    assert _all_hooks(model) == 0


def test_keyword_arguments_reach_the_model_in_every_call():
    from tinylens.interventions import zero_ablation

    model = Recurrent().double().eval()
    hm = tl.hooked(model)
    x = np.random.default_rng(1).normal(size=(3, 5, 3))
    mask = np.zeros((3, 5), dtype=bool)
    mask[:, :2] = True  # ignore the first two positions
    masked, attn_masked = _raw_first(model, model.attn, x, key_padding_mask=torch.from_numpy(mask))
    plain, _ = _raw_first(model, model.attn, x)
    assert not np.allclose(masked, plain)  # the mask matters
    np.testing.assert_array_equal(hm.forward(x, key_padding_mask=mask), masked)
    np.testing.assert_array_equal(hm(x, key_padding_mask=torch.from_numpy(mask)), masked)
    out, cache = hm.run_with_cache(x, names=["attn"], key_padding_mask=mask)
    np.testing.assert_array_equal(out, masked)
    np.testing.assert_array_equal(cache["attn"], attn_masked)
    np.testing.assert_array_equal(hm.forward_to(x, "attn", key_padding_mask=mask), attn_masked)
    np.testing.assert_array_equal(hm.run_with_hooks(x, [], key_padding_mask=mask), masked)

    def zero_feature_2(t):
        new = t.clone()
        new[..., 2] = 0
        return new

    expected, _ = _raw_first(
        model, model.attn, x, edit=zero_feature_2, key_padding_mask=torch.from_numpy(mask)
    )
    got = hm.run_with_hooks(x, [zero_ablation("attn", [2], axis=-1).hook], key_padding_mask=mask)
    np.testing.assert_array_equal(got, expected)
    assert _all_hooks(model) == 0


def test_torch_predict_is_an_eval_mode_chunked_numpy_forward():
    seq = nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.5), nn.Linear(5, 2)).double().train()
    hm = tl.hooked(seq)
    x = _x(9)
    out = hm.predict(x, batch_size=4)
    with torch.no_grad():
        expected = seq.eval()(torch.from_numpy(x)).numpy()
    seq.train()
    assert isinstance(out, np.ndarray) and out.shape == (9, 2)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-15)
    assert seq.training and seq[1].training  # modes restored


def test_evaluating_restores_each_modules_own_flag():
    model = Custom()
    model.train()
    model.head.eval()  # a mixed state the user chose
    with evaluating(model) as hm:
        assert isinstance(hm, HookedModule) and not any(m.training for m in model.modules())
    assert model.training and model.fc1.training and not model.head.training
    net = tl.MLP([2, 3, 1], rng=0).train()
    with evaluating(net):
        assert not net.training and not net.layers[0].training
    assert net.training and net.layers[0].training


# -- parity -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_engine_and_torch_caches_agree_for_the_same_weights(kind):
    if kind == "mlp":
        net, x = _mlp(), _x(9, 6)
    else:
        net = small_cnn((8, 8), channels=(3, 4), classes=5, rng=2, dtype=np.float64)
        x = np.random.default_rng(3).random((6, 64))
    hm = tl.hooked(tl.to_torch(net))
    out_e, cache_e = net.run_with_cache(x)
    out_t, cache_t = hm.run_with_cache(x)
    assert list(cache_e) == list(cache_t) == hm.hook_names == net.hook_names
    for name in cache_e:
        assert cache_e[name].shape == cache_t[name].shape, name
        np.testing.assert_allclose(cache_e[name], cache_t[name], rtol=0, atol=PARITY_TOL)
    np.testing.assert_allclose(out_e, out_t, rtol=0, atol=PARITY_TOL)
    # float32 twins agree to float32 rounding
    net32 = net.astype(np.float32)
    _, c32 = tl.hooked(tl.to_torch(net32)).run_with_cache(x.astype(np.float32))
    _, e32 = net32.run_with_cache(x)
    for name in e32:
        np.testing.assert_allclose(e32[name], c32[name], rtol=0, atol=F32_TOL)


def test_hooked_rejects_what_it_cannot_wrap_and_keeps_torch_lazy():
    with pytest.raises(ConfigError, match="not list"):
        tl.hooked([1, 2])
    affine = tl.AffineNet.from_module(_mlp())
    assert tl.hooked(affine).hook_names == _mlp().hook_names
    import subprocess
    import sys

    code = "import sys, tinylens as tl; tl.hooked; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
