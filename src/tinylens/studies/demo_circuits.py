"""The demo's circuits part (:mod:`tinylens.studies.demo`): the hand-derived circuit library, a
compiled and verified expression, "does gradient descent find abs?" over a few hundred seeds,
and the recovery study's kept networks read back as formulas; each with its report section."""

from __future__ import annotations

from typing import Any

from tinylens.io import RunDir, Section, Table

__all__ = ["circuits_part"]


def circuits_part(cfg: Any, run: RunDir, quiet: bool) -> dict[str, Any]:
    from tinylens.studies.circuit_library import LibraryConfig
    from tinylens.studies.circuit_library import run as run_library
    from tinylens.studies.recovery import RecoveryConfig, run_recovery

    library = run_library(LibraryConfig(compile=True))
    library.save(run.child("library"))
    compiled = _compile_section(run.child("compile"))
    recovery = run_recovery(
        RecoveryConfig(target="abs", seeds=100 if cfg.quick else 300, seed=cfg.seed), quiet=quiet
    )
    recover = run.child("recover")
    recovery.save(recover)
    readings = _explain_section(run.child("explain"), recover)
    return {
        "library circuits": len(library.entries),
        "compiled": compiled,
        "abs recovered": recovery.metrics["success_rate"],
        "read back": readings,
    }


def _explain_section(run: RunDir, recover: RunDir) -> str:
    """Read back, as formulas, the trained networks the recovery study kept (one per outcome)."""
    import tinylens as tl
    from tinylens.circuits import explain

    rows = []
    for path in sorted((recover.work / "examples").glob("*.safetensors")):
        reading = explain(tl.load_affine(path), [(-1, 1)])
        outcome, _, seed = path.stem.rpartition("_seed")
        err = float(reading.max_error) if reading.max_error is not None else float("nan")
        label = outcome.replace("_", " ").replace(" gt ", " > ").replace(" lt ", " < ")
        rows.append([label, int(seed), reading.formula, reading.relu_form,
                     err, len(reading.pruned_units)])  # fmt: skip
    run.add_section(
        Section(
            id="explain",
            title="Reading formulas back out of trained weights",
            summary=(
                "Each network the recovery study kept (one seed per outcome) read back as a "
                "formula on [-1, 1]: dead units pruned, positive rescaling undone, ReLU pairs "
                "cancelled, coefficients rounded to 2 decimals, and the formula's largest error "
                "against the network computed exactly over its linear regions. The same command: "
                "tinylens circuits explain MODEL.safetensors."
            ),
            tables=[
                Table(
                    "read back",
                    ["outcome", "seed", "formula", "ReLU form", "max error", "pruned units"],
                    rows,
                )
            ],
        )
    )
    return "; ".join(f"{r[0]}: {r[2]}" for r in rows)


def _compile_section(run: RunDir) -> str:
    """Compile one expression, verify it exhaustively, save it and describe it."""
    from tinylens.circuits import compile_expression
    from tinylens.circuits.expr import net_to_strings
    from tinylens.io import Figure

    expr, domain = "max(x1, x2, x3)", "x1=-4..4,x2=-4..4,x3=-4..4"
    compiled = compile_expression(expr, domain=domain, verify=True)
    run.save_weights("compiled.safetensors", compiled.net, info={"expression": expr})
    run.write_json(
        "compiled.json",
        {
            "title": expr,
            "input_names": list(compiled.inputs),
            "layers": net_to_strings(compiled.net),
        },
    )
    check = compiled.verification
    verified = check is not None and check.verified is True
    verdict = "verified" if verified else "NOT verified"
    run.add_section(
        Section(
            id="compile",
            title=f"Compiling {expr}",
            summary=(
                f"The expression {expr!r} compiled to an exact ReLU network "
                f"({'-'.join(map(str, compiled.sizes))}, {compiled.neurons} ReLU units, depth "
                f"{compiled.depth}) and was {verdict} on every point of {domain} in exact "
                f"arithmetic ({check.message if check else 'no check'}). The same command: "
                "tinylens circuits compile "
                f'"{expr}" --domain {domain} --verify.'
            ),
            metrics={"units": compiled.neurons, "depth": compiled.depth, "verified": verified},
            figures=[Figure("compiled.json", f"{expr}, compiled", kind="widget", widget="circuit")],
        )
    )
    return f"{expr}: {compiled.neurons} units, {verdict}"
