"""Hooks: the cost of caching activations, and batched ablation sweeps against loops.

On the MNIST probing model (784-32-16-10, ReLU, trained for two epochs with ``fit``) and the
10,000 genuine MNIST test images, in one run:

1. engine: ``run_with_cache`` of every hook point / a plain forward (target <= 1.10);
2. torch (2 threads, no autograd everywhere): ``tinylens.hooked(model).run_with_cache`` / the
   same caching written with raw ``register_forward_hook`` (target <= 1.2), and against
   nnsight (``NNsight(model).trace`` saving every layer's output) and TransformerLens (the same
   modules with a ``HookPoint`` after each, in a ``HookedRootModule``, ``run_with_cache``):
   target faster than both (ratio < 1). Each produces the five activations as NumPy arrays.
   The same comparison at batch 64 shows the per-call overhead that dominates small batches;
3. ablating each of the 48 hidden neurons (32 of layers.1, 16 of layers.3) and scoring
   per-class accuracy: a loop of 48 hooked forwards (each scored) / the batched computation
   (one ``run_with_cache`` of both hidden layers, then one ``ablation_sweep`` per layer that
   runs only the rest of the network, once, on all ablations stacked), on the engine and on
   torch (target >= 10x).

Times are the minimum over interleaved repeats (robust to a busy machine).

    python benchmarks/hooks.py [--data-dir DIR] [--repeats 25] [--compare nnsight,transformer_lens]

    python benchmarks/hooks.py --compare nnsight,transformer_lens

The comparison with nnsight and TransformerLens runs only when asked (``--compare``); they are
not dependencies of tinylens, only of its ``bench`` extra (``pip install -e ".[bench]"``). Asked
for without them installed, the script stops with exit code 2 and one line naming that command,
before any timing. Ends with one JSON line (without the comparison keys when not asked).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import (  # benchmarks/ is on sys.path when run as a script
    BENCH_LIBRARIES,
    bench_libraries,
    find_mnist,
)

HIDDEN = ("layers.1", "layers.3")  # the ReLU outputs: 32 + 16 = 48 hidden neurons


def best_times(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Minimum wall time of each function, measured interleaved, after one warm-up call each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}


def engine_cache_ratio(net: Any, X: np.ndarray, repeats: int) -> dict[str, float]:
    t = best_times(
        {"forward": lambda: net.forward(X), "run_with_cache": lambda: net.run_with_cache(X)},
        repeats,
    )
    return {**t, "ratio": t["run_with_cache"] / t["forward"]}


def torch_cachers(
    module: Any, compare: tuple[str, ...] = ()
) -> dict[str, Callable[[Any], list[np.ndarray]]]:
    """Functions caching the five hook points of ``module`` as NumPy: tinylens, raw hooks, and
    each library in ``compare`` (checked installed by :func:`_common.bench_libraries`)."""
    import torch

    import tinylens as tl

    names = [f"layers.{i}" for i in range(5)]
    hooked = tl.hooked(module)

    def tinylens_cache(x: Any) -> list[np.ndarray]:
        _, cache = hooked.run_with_cache(x)
        return [cache[n] for n in names]

    def raw_hooks(x: Any) -> list[np.ndarray]:
        store: dict[int, Any] = {}
        handles = [
            module.layers[i].register_forward_hook(
                lambda m, a, out, i=i: store.__setitem__(i, out.detach())
            )
            for i in range(5)
        ]
        try:
            with torch.no_grad():
                module(x)
        finally:
            for h in handles:
                h.remove()
        return [store[i].numpy() for i in range(5)]

    cachers = {"tinylens": tinylens_cache, "raw_hooks": raw_hooks}
    if "nnsight" in compare:
        from nnsight import NNsight

        traced = NNsight(module)

        def nnsight_cache(x: Any) -> list[np.ndarray]:
            # nnsight reads the source of the with block, so the saves are written out.
            with torch.no_grad(), traced.trace(x):
                s0 = traced.layers[0].output.save()
                s1 = traced.layers[1].output.save()
                s2 = traced.layers[2].output.save()
                s3 = traced.layers[3].output.save()
                s4 = traced.layers[4].output.save()
            return [s.detach().numpy() for s in (s0, s1, s2, s3, s4)]

        cachers["nnsight"] = nnsight_cache
    if "transformer_lens" in compare:
        from torch import nn
        from transformer_lens import HookedRootModule
        from transformer_lens.hook_points import HookPoint

        class TLMLP(HookedRootModule):
            """How TransformerLens hooks a non-transformer: a HookPoint after each module."""

            def __init__(self, layers: nn.Sequential) -> None:
                super().__init__()
                self.layers = layers  # the same module objects, so the same weights
                self.hooks_out = nn.ModuleList([HookPoint() for _ in layers])
                self.setup()

            def forward(self, x: Any) -> Any:
                for layer, hook in zip(self.layers, self.hooks_out, strict=True):
                    x = hook(layer(x))
                return x

        tl_model = TLMLP(module.layers)
        tl_names = [f"hooks_out.{i}" for i in range(5)]

        def transformer_lens_cache(x: Any) -> list[np.ndarray]:
            with torch.no_grad():
                _, cache = tl_model.run_with_cache(x)
            return [cache[n].detach().numpy() for n in tl_names]

        cachers["transformer_lens"] = transformer_lens_cache
    return cachers


def torch_cache_ratios(
    module: Any, X: np.ndarray, repeats: int, compare: tuple[str, ...] = ()
) -> dict[str, Any]:
    import torch

    cachers = torch_cachers(module, compare)
    xt = torch.from_numpy(X)
    reference = cachers["raw_hooks"](xt)
    for key, fn in cachers.items():  # every library must cache the same numbers
        for a, b in zip(fn(xt), reference, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=key)
    out: dict[str, Any] = {}
    for batch in (len(X), 64):
        xb = xt[:batch]
        t = best_times({k: (lambda fn=fn, xb=xb: fn(xb)) for k, fn in cachers.items()}, repeats)
        out[batch] = {
            "times": t,
            **{
                f"over_{k}": t["tinylens"] / t[k]
                for k in ("raw_hooks", "nnsight", "transformer_lens")
                if k in t
            },
        }
    return out


def ablation_speedup(model: Any, data: Any, repeats: int) -> dict[str, float]:
    """48 hooked forwards (each scored) against the two batched sweeps."""
    import torch

    import tinylens as tl
    from tinylens.interventions import ablation_sweep, class_accuracy, zero_ablation

    hooked = tl.hooked(model)
    is_torch = not isinstance(hooked, tl.Sequential)
    X = torch.from_numpy(data.X) if is_torch else data.X
    y, k = data.y, data.n_classes

    def batched() -> list[np.ndarray]:
        # One forward caches both hidden layers; each sweep runs only what follows its layer.
        _, cache = hooked.run_with_cache(X, names=list(HIDDEN))
        return [ablation_sweep(model, data, n, cache=cache).class_accuracy_ for n in HIDDEN]

    def loop() -> list[np.ndarray]:
        tables = []
        with torch.no_grad():
            for name in HIDDEN:
                width = 32 if name == "layers.1" else 16
                rows = []
                for unit in range(width):
                    out = hooked.run_with_hooks(X, [zero_ablation(name, unit).hook])
                    out = out.numpy() if is_torch else out
                    rows.append(class_accuracy(out[None], y, k)[0, :-1])
                tables.append(np.array(rows))
        return tables

    # The same tables: float32 rounding differs between the two orders of arithmetic, which can
    # flip a prediction at a near-tie of two logits; allow one flipped sample per class.
    for a, b in zip(batched(), loop(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1.0 / np.bincount(y).min() + 1e-12)
    t = best_times({"batched": batched, "loop": loop}, max(3, repeats // 3))
    return {**t, "speedup": t["loop"] / t["batched"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--repeats", type=int, default=25, help="interleaved repeats (min kept)")
    parser.add_argument(
        "--compare",
        default="",
        metavar="LIBS",
        help=f"also time these libraries (comma-separated: {', '.join(BENCH_LIBRARIES)}); "
        'they come with pip install -e ".[bench]"',
    )
    args = parser.parse_args()
    compare = bench_libraries(args.compare)  # exit 2 now, before any training or timing

    import torch

    torch.set_num_threads(2)
    import tinylens as tl
    from tinylens.data import load_mnist

    data = load_mnist(find_mnist(args.data_dir), split="test", download=False)
    net = tl.MLP([784, 32, 16, 10], rng=0)
    tl.fit(net, data, tl.TrainConfig(epochs=2, optimizer="adam", lr=0.003), rng=0, quiet=True)
    net.eval()
    module = tl.to_torch(net).eval()
    X = data.X
    print(
        f"MNIST test set: {len(X)} images; model 784-32-16-10 (accuracy "
        f"{np.mean(net.forward(X).argmax(1) == data.y):.3f}); best of {args.repeats} "
        f"interleaved repeats; torch threads {torch.get_num_threads()}"
    )

    eng = engine_cache_ratio(net, X, args.repeats)
    print(
        f"engine  run_with_cache (5 hook points) {eng['run_with_cache'] * 1e3:7.2f} ms   "
        f"forward {eng['forward'] * 1e3:7.2f} ms   ratio {eng['ratio']:.3f}  (target <= 1.10)"
    )
    tor = torch_cache_ratios(module, X, args.repeats, compare)
    for batch, res in tor.items():
        times = "   ".join(f"{k} {v * 1e3:7.3f} ms" for k, v in res["times"].items())
        print(f"torch   batch {batch:5d}: {times}")
        ratios = "   ".join(f"tinylens/{k[5:]} {v:.3f}" for k, v in res.items() if k != "times")
        print(f"        ratios: {ratios}")
    print(
        "        (targets at 10000: tinylens/raw_hooks <= 1.2; < 1 against nnsight and TL"
        + (", asked with --compare)" if not compare else ")")
    )
    abl_e = ablation_speedup(net, data, args.repeats)
    abl_t = ablation_speedup(module, data, args.repeats)
    for label, res in (("engine", abl_e), ("torch", abl_t)):
        print(
            f"ablate 48 neurons, per-class accuracy ({label}): loop of 48 hooked forwards "
            f"{res['loop'] * 1e3:8.1f} ms   batched {res['batched'] * 1e3:7.1f} ms   "
            f"speedup {res['speedup']:.1f}x  (target >= 10)"
        )
    full = tor[len(X)]
    result: dict[str, Any] = {
        "benchmark": "hooks",
        "engine_cache_over_forward": round(eng["ratio"], 3),
    }
    for lib in ("raw_hooks", *compare):  # only what was measured: never a null
        result[f"torch_cache_over_{lib}"] = round(full[f"over_{lib}"], 3)
        result[f"torch_cache_over_{lib}_bs64"] = round(tor[64][f"over_{lib}"], 3)
    result["engine_ablation_speedup"] = round(abl_e["speedup"], 2)
    result["torch_ablation_speedup"] = round(abl_t["speedup"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
