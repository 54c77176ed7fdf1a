"""``tinylens circuits explain MODEL.safetensors``: a ReLU network read back as a formula."""

from __future__ import annotations

import argparse
from typing import Any

from tinylens.cli.common import emit, int_between, positive_int
from tinylens.studies.circuits.config import MAX_DIGITS, ExplainConfig


def add(inner: argparse._SubParsersAction) -> None:
    ex = inner.add_parser(
        "explain",
        help="read a formula back out of a ReLU network's weights",
        description="Read a ReLU network with a few inputs as a formula: dead and always-active "
        "units decided exactly on the box, positive rescaling undone, duplicate units merged, "
        "relu(z) - relu(-z) = z and relu(z) + relu(-z) = |z| cancelled, min / max recognised; "
        "max_error is the exact largest |formula - network| on the box. Also lists the "
        "network's motifs (abs and identity pairs, greaterness detectors).",
    )
    ex.add_argument("model", metavar="MODEL.safetensors", help="a tinylens weights file")
    ex.add_argument(
        "--box",
        help="x1=-1:1,x2=0:2 or LO,HI,LO,HI,... (default: the domain stored in the file, else "
        "-1:1 for every input)",
    )
    digits = ex.add_mutually_exclusive_group()
    digits.add_argument(
        "--digits",
        type=int_between(0, MAX_DIGITS, f"a number of decimals from 0 to {MAX_DIGITS}"),
        help="decimals kept in coefficients (default: 2 for trained float networks, exact for "
        "compiled ones)",
    )
    digits.add_argument("--exact", action="store_true", help="keep every coefficient exact")
    ex.add_argument(
        "--compare",
        metavar="CIRCUIT",
        help="a library name, an expression or a weights file: is the model that circuit, up "
        "to permutation and positive rescaling of units, and which units correspond?",
    )
    ex.add_argument(
        "--max-pieces",
        type=positive_int,
        default=ExplainConfig.max_cells,
        help=f"most linear pieces the exact check may visit ({ExplainConfig.max_cells:,}); "
        "beyond, units come from interval bounds and the error from a grid",
    )
    ex.add_argument(
        "--max-terms",
        type=positive_int,
        default=ExplainConfig.max_terms,
        help=f"largest formula read back, in terms written out ({ExplainConfig.max_terms}); "
        "larger networks are refused before the slow symbolic work",
    )
    ex.add_argument("--json", action="store_true", help="print JSON")
    ex.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinylens.studies.circuits import run_explain
    from tinylens.studies.circuits.write import explain_lines

    digits: Any = None if args.exact else args.digits if args.digits is not None else "auto"
    cfg = ExplainConfig(
        model=args.model,
        box=args.box,
        digits=digits,
        compare=args.compare,
        max_cells=args.max_pieces,
        max_terms=args.max_terms,
    )
    result = run_explain(cfg)
    emit(args, result.to_dict(), explain_lines(result))
    return 0
