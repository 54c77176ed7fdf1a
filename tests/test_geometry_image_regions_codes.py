"""Region sets past the full-code memory limit (issue 15): an ``ImageRegionSet`` keeps its codes
full, packed or as digests, and the regions, their order, patterns, ``region_of`` and ``locate``
do not depend on the format; ``auto`` keeps packed codes when full ones would not fit.

Oracles: the full-code enumeration (kept one byte per entry, ordered by ``np.lexsort``) for
every other format, and NumPy's ``lexsort`` on random codes for the order of packed codes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from test_geometry_conv_slices import mid_cnn
from tinylens.errors import ConfigError
from tinylens.geometry import Slice, conv_slice, image_regions, image_slice_regions, linear_regions
from tinylens.geometry._codes import CodeLayout, digest
from tinylens.geometry.conv_layers import image_layers
from tinylens.geometry.image_regions import ImageRegionSet, _row_order

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def sets():
    model = mid_cnn(0)
    plane = Slice.plane(np.zeros(64), radius=2.0, rng=0)
    full = image_slice_regions(model, plane, codes="full")
    assert full.count > 200
    return (
        model,
        plane,
        full,
        {fmt: image_slice_regions(model, plane, codes=fmt) for fmt in ("packed", "digest", "auto")},
    )


def _grid(plane, n=40):
    g = np.linspace(-2, 2, n + 2)[1:-1]
    return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)


def test_packed_and_auto_give_the_same_regions_in_the_same_order(sets):
    _model, _plane, full, other = sets
    assert full.code_format == "full" and other["auto"].code_format == "full"
    assert other["packed"].code_format == "packed"
    assert other["packed"].codes.shape[1] < full.codes.shape[1] // 4
    for fmt in ("packed", "auto"):
        r = other[fmt]
        assert r.count == full.count and r.counts_per_layer == full.counts_per_layer
        np.testing.assert_array_equal(r.patterns, full.patterns)
        assert r.pattern_strings == full.pattern_strings
        np.testing.assert_array_equal(r.W, full.W)
        np.testing.assert_array_equal(r.c, full.c)
        np.testing.assert_array_equal(r.volumes(), full.volumes())
        for a, b in zip(r.vertices, full.vertices, strict=True):
            np.testing.assert_array_equal(a, b)
    # one region at a time, unpacked on demand
    packed = other["packed"]
    for i in (0, 7, full.count - 1):
        assert packed[i].pattern == full[i].pattern
        np.testing.assert_array_equal(packed[i].pattern_array, full.patterns[i])
    np.testing.assert_array_equal(packed.pattern_arrays([3, 1]), full.patterns[[3, 1]])


def test_every_format_locates_the_same_regions(sets):
    _model, plane, full, other = sets
    X = _grid(plane)
    want = full.locate(X)
    assert (want >= 0).mean() > 0.99  # grid points on a boundary are the rare -1
    for fmt in ("packed", "auto"):
        np.testing.assert_array_equal(other[fmt].locate(X), want)
    # a digest set is ordered by digest: the same regions, found by their area and map
    dig = other["digest"]
    got = dig.locate(X)
    np.testing.assert_array_equal(got >= 0, want >= 0)
    ok = want >= 0
    np.testing.assert_array_equal(dig.volumes()[got[ok]], full.volumes()[want[ok]])
    np.testing.assert_array_equal(dig.W[got[ok]], full.W[want[ok]])
    x = X[np.flatnonzero(ok)[0]]
    assert dig.region_of(x).area == full.region_of(x).area
    assert sorted(dig.volumes().tolist()) == sorted(full.volumes().tolist())
    assert {row.tobytes() for row in dig.codes} == {
        row.tobytes() for row in digest(full.layout.pack(full.patterns))
    }


def test_a_digest_set_says_it_cannot_give_patterns(sets):
    dig = sets[3]["digest"]
    for read in (
        lambda: dig.patterns,
        lambda: dig.pattern_strings,
        lambda: dig[0].pattern,
        lambda: dig.pattern_arrays([0]),
    ):
        with pytest.raises(ConfigError, match=r"16-byte digests.*codes='packed'"):
            read()
    d = dig[0].to_dict()
    assert "pattern" not in d and d["code_digest"] == dig.codes[0].tobytes().hex()
    assert "code digest" in repr(dig[0])
    assert len(dig.to_dict()["regions"]) == dig.count  # the JSON still holds every region
    assert dig.codes[0].tobytes().hex() in dig._repr_html_()  # the card lists digests


def test_auto_keeps_packed_codes_when_full_ones_would_not_fit(sets, monkeypatch):
    model, plane, full, _ = sets
    steps = image_layers(model, (1, 8, 8))
    layout = CodeLayout.of(steps)
    n_out = full.n_outputs
    size = {f: conv_slice.region_bytes(layout, f, n_out) for f in ("full", "packed")}
    # room for every region packed, not for every region with full codes
    budget = full.count * size["packed"] + 1
    assert budget // size["full"] < full.count
    monkeypatch.setattr(conv_slice, "MEMORY_BUDGET", budget)
    auto = linear_regions(model, slice=plane)  # linear_regions takes auto
    assert auto.code_format == "packed" and auto.count == full.count
    with pytest.raises(ConfigError, match="pattern_arrays"):
        auto.patterns
    np.testing.assert_array_equal(auto.pattern_arrays(np.arange(5)), full.patterns[:5])
    assert auto[full.count - 1].pattern == full[full.count - 1].pattern
    np.testing.assert_array_equal(auto.locate(_grid(plane, 15)), full.locate(_grid(plane, 15)))
    # the notebook card of a set past the full budget: the first rows only, no error
    from tinylens.geometry import region_views

    monkeypatch.setattr(region_views, "CARD_TABLE_ROWS", 50)
    card = auto._repr_html_()
    assert f"the first 10 of {full.count:,} regions" in card
    assert all(f"<td>{p}</td>" in card for p in full.pattern_strings[:10])
    assert f"<td>{full.pattern_strings[10]}</td>" not in card
    with pytest.raises(ConfigError, match="memory limit") as stop:  # full codes alone stop
        image_slice_regions(model, plane, codes="full")
    # one line naming the ways past it, from Python and from the CLI
    assert "\n" not in str(stop.value)
    assert all(w in str(stop.value) for w in ("--margin", "codes='digest'", "--codes digest"))


def test_a_segment_keeps_any_format():
    model = mid_cnn(1)
    rng = np.random.default_rng(1)
    seg = Slice.segment(rng.normal(size=64) * 3, rng.normal(size=64) * 3)
    full = image_slice_regions(model, seg)
    packed = image_slice_regions(model, seg, codes="packed")
    assert full.code_format == "full" and packed.code_format == "packed"
    np.testing.assert_array_equal(packed.patterns, full.patterns)
    np.testing.assert_array_equal(packed.intervals, full.intervals)
    t = np.linspace(0, 1, 101)[:, None]
    np.testing.assert_array_equal(
        image_slice_regions(model, seg, codes="digest").locate(t), full.locate(t)
    )


def test_packed_codes_sort_as_lexsort_does_and_unpacking_is_exact(monkeypatch):
    rng = np.random.default_rng(0)
    layout = CodeLayout((("kink", 5, 2), ("max", 3, 4), ("kink", 2, 2), ("max", 2, 9)))
    codes = np.concatenate(
        [
            rng.integers(0, 2, (400, 5)),
            rng.integers(0, 4, (400, 3)),
            rng.integers(0, 2, (400, 2)),
            rng.integers(0, 9, (400, 2)),
        ],
        axis=1,
    ).astype(np.uint8)
    codes = np.unique(codes, axis=0)[rng.permutation(len(np.unique(codes, axis=0)))]
    want = np.lexsort(codes.T[::-1])
    np.testing.assert_array_equal(_row_order(layout.pack(codes)), want)  # their own key
    # a set keeping full codes orders them by their packing, a chunk at a time
    monkeypatch.setattr(image_regions, "UNPACK_CHUNK", 7)
    holder = SimpleNamespace(layout=layout)
    np.testing.assert_array_equal(ImageRegionSet._pattern_order(holder, codes, "full"), want)
    # and the fast unpacking gives back the codes, as the layout's own unpack does
    np.testing.assert_array_equal(layout.unpack(layout.pack(codes)), codes)
    # and the bits are where the layout says, read one by one in plain Python
    bits = "".join(f"{byte:08b}" for byte in layout.pack(codes[:1])[0].tolist())
    at, want_row = 0, []
    for (_, n, _), b in zip(layout.segments, layout.widths, strict=True):
        want_row += [int(bits[at + i * b : at + (i + 1) * b], 2) for i in range(n)]
        at += n * b
    assert want_row == codes[0].tolist()


def test_an_unknown_codes_format_is_one_line(sets):
    model, plane, _, _ = sets
    with pytest.raises(ConfigError, match="unknown codes format 'zip'; expected one of auto"):
        image_slice_regions(model, plane, codes="zip")


def test_regions_command_keeps_digests_with_codes_digest(tmp_path, capsys):
    import json

    import tinylens as tl
    from tinylens.cli.main import main
    from tinylens.data import digits
    from tinylens.engine import small_cnn

    net = small_cnn((8, 8), channels=(2, 3), classes=10, rng=1, dtype=np.float64)
    path = tl.save(net, tmp_path / "cnn.safetensors")
    argv = ["regions", str(path), "--through", "0,1,2", "--data", "digits", "--json"]
    assert main([*argv, "--codes", "digest"]) == 0
    got = json.loads(capsys.readouterr().out)
    full = linear_regions(net, slice=Slice.through(*digits().X[:3]))
    assert got["count"] == full.count
    want = {row.tobytes().hex() for row in digest(full.layout.pack(full.patterns))}
    assert {r["code_digest"] for r in got["regions"]} == want
    assert not any("pattern" in r for r in got["regions"])
    assert main([*argv, "--codes", "packed"]) == 0  # packed: the same patterns as full
    got = json.loads(capsys.readouterr().out)
    assert [r["pattern"] for r in got["regions"]] == full.pattern_strings


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("packed", "--codes packed is for conv / max-pool networks"),
        ("zip", "codes format"),
        ("box", "--codes applies to slices"),
    ],
)
def test_a_codes_format_that_cannot_apply_is_one_line_and_exit_2(codes, message, tmp_path, capsys):
    import tinylens as tl
    from tinylens.cli.main import main

    path = tl.save(tl.MLP([64, 6, 10], rng=0), tmp_path / "mlp.safetensors")
    where = ["--box", "0,1," * 63 + "0,1"] if codes == "box" else ["--through", "0,1,2"]
    codes = "full" if codes == "box" else codes
    argv = ["regions", str(path), *where, "--data", "digits", "--codes", codes]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o*"))


def test_past_the_json_budget_regions_list_digests_not_patterns(sets, monkeypatch):
    from tinylens.geometry import image_regions

    _, _, full, other = sets
    small = full.to_dict()
    assert "patterns" not in small
    assert [r["pattern"] for r in small["regions"]] == full.pattern_strings
    monkeypatch.setattr(image_regions, "JSON_PATTERN_BYTES", full.count * len(full.units) - 1)
    want = [row.tobytes().hex() for row in digest(full.layout.pack(full.patterns))]
    for r in (full, other["packed"]):
        d = r.to_dict()
        assert "would pass JSON_PATTERN_BYTES" in d["patterns"]
        assert [x["code_digest"] for x in d["regions"]] == want
        assert not any("pattern" in x for x in d["regions"])
        assert [x["vertices"] for x in d["regions"]] == [v.tolist() for v in full.vertices]
    assert "keeps only digests" in other["digest"].to_dict()["patterns"]


def test_regions_command_takes_workers(tmp_path, capsys, monkeypatch):
    """--workers N shares the plane among N threads: the same regions as one; 0 or --workers
    on a box is one line and exit 2."""
    import json

    import tinylens as tl
    from tinylens.cli.main import main
    from tinylens.engine import small_cnn
    from tinylens.geometry import image_regions

    asked = []
    real = image_regions.split_image_slice
    monkeypatch.setattr(
        image_regions,
        "split_image_slice",
        lambda *a, **k: asked.append(k["workers"]) or real(*a, **k),
    )

    net = small_cnn((8, 8), channels=(2, 3), classes=10, rng=2, dtype=np.float64)
    path = tl.save(net, tmp_path / "cnn.safetensors")
    argv = ["regions", str(path), "--through", "0,1,2", "--data", "digits", "--json"]
    got = []
    for workers in ("1", "3"):
        assert main([*argv, "--workers", workers]) == 0
        got.append(json.loads(capsys.readouterr().out))
    assert asked == [1, 3] and got[0]["count"] > 10 and got[0] == got[1]
    with pytest.raises(SystemExit) as stop:  # argparse's own one-line error
        main([*argv, "--workers", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--workers" in err[0] and "positive integer" in err[0]
    box = ["regions", str(path), "--box=-1,1,-1,1", "--workers", "2"]
    assert main(box) == 2
    assert "--workers applies to slices" in capsys.readouterr().err
