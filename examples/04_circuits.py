# %% [markdown]
# # Circuits: built by hand, compiled, verified, and searched for by gradient descent

# %%
from tinylens.circuits import compile_expression, get_circuit

m = get_circuit("min")
print(m.human)
for ex, got, ok in m.check_examples():
    args = ", ".join(str(v) for v in ex.inputs)
    print(f"  min({args}) = {got[0]}  ({'ok' if ok else 'WRONG'})")

# %% [markdown]
# Compile an expression into an exact ReLU network and verify it on every point of a domain,
# in exact rational arithmetic.

# %%
compiled = compile_expression("max(x1, x2, x3)", domain="x1=-4..4,x2=-4..4,x3=-4..4", verify=True)
print(f"{compiled.neurons} ReLU units, sizes {compiled.sizes}")
print(compiled.verification.message)
assert compiled.verification.verified

# %% [markdown]
# Does gradient descent find the abs circuit? Train 200 seeds at once (an instance axis).

# %%
from tinylens.studies.recovery import RecoveryConfig, run_recovery

result = run_recovery(RecoveryConfig(target="abs", seeds=200), quiet=True)
print(f"found the known circuit in {result.metrics['success_rate']:.1%} of 200 seeds")
for outcome, seeds in result.metrics["examples"].items():
    print(f"  {outcome}: e.g. seeds {seeds}")
