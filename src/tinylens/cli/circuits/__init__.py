"""``tinylens circuits``: the library of hand-derived networks, the compiler, and recovery.

tinylens circuits list [--sizes] [--json]
tinylens circuits show NAME [--param KEY=VALUE ...] [--json]
tinylens circuits compile "EXPR" [--domain x=0..15,y=-3..3 | x=-1:1] [--verify]
                                 [--out F.safetensors] [--json]
tinylens circuits recover TARGET [--seeds 1000] [--optimizer sgd] [--init auto] ...
tinylens circuits explain MODEL.safetensors [--box x1=-1:1,...] [--digits N | --exact]
                                            [--compare NAME|EXPR|F.safetensors] [--json]
tinylens circuits minimal NAME|EXPR [--domain ...] [--max-width N] [--json]
tinylens circuits minimal --table [--json]

One module per subcommand; each parses, builds a config, calls the study
(:mod:`tinylens.studies.circuits`, :mod:`tinylens.studies.recovery`), writes and prints.
"""

from __future__ import annotations

import argparse
import sys

from tinylens.cli.circuits import compile as compile_cmd
from tinylens.cli.circuits import explain, minimal, recover, show
from tinylens.cli.circuits import list as list_cmd

ORDER = 40
_EXAMPLES = (
    'tinylens circuits compile "min(x1, x2)" --domain x1=-5..5,x2=-5..5 --verify; '
    "tinylens circuits show is_even; tinylens circuits recover min --seeds 1000"
)
_SUBCOMMANDS = (list_cmd, show, compile_cmd, recover, explain, minimal)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "circuits",
        help="hand-derived ReLU circuits: list, show, compile expressions, recover by training",
        description=f"Exact ReLU circuits. Examples: {_EXAMPLES}",
    )
    inner = p.add_subparsers(dest="circuits_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda args: _usage(p))
    for mod in _SUBCOMMANDS:
        mod.add(inner)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2
