"""The circuits studies behind ``tinylens circuits``: list and show the hand-derived library,
compile an expression, read a network back as a formula (explain), find the smallest network
(minimal).

``config.py`` the settings (one dataclass per command), ``run.py`` the work (no files),
``result.py`` the results (each shows itself in a notebook), ``write.py`` what the commands
print and the files they write, ``limits.py`` the size checks made before any work.

>>> from tinylens.studies.circuits import CompileConfig, run_compile
>>> run_compile(CompileConfig("abs(x)")).circuit.neurons
2
"""

from tinylens.studies.circuits.config import (
    CompileConfig,
    ExplainConfig,
    ListConfig,
    MinimalConfig,
    ShowConfig,
)
from tinylens.studies.circuits.result import (
    CompileResult,
    ExplainResult,
    LibraryListing,
    MinimalResult,
    ShowResult,
    SizeTable,
)
from tinylens.studies.circuits.run import (
    load_model,
    run_compile,
    run_explain,
    run_list,
    run_minimal,
    run_show,
)

__all__ = [
    "CompileConfig",
    "CompileResult",
    "ExplainConfig",
    "ExplainResult",
    "LibraryListing",
    "ListConfig",
    "MinimalConfig",
    "MinimalResult",
    "ShowConfig",
    "ShowResult",
    "SizeTable",
    "load_model",
    "run_compile",
    "run_explain",
    "run_list",
    "run_minimal",
    "run_show",
]
