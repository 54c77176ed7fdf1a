# %% [markdown]
# # A ReLU network is a sum of kinked lines
# A one-hidden-layer ReLU net f(x) = b_out + sum_i w_out_i * relu(w_in_i * x + b_i): each neuron
# contributes a "ghost" that is zero on one side of its kink x = -b_i / w_in_i and a straight
# line on the other.

# %%
import numpy as np

import tinylens as tl
from tinylens.data import sine
from tinylens.geometry import decompose

data = sine(n=200, rng=0)
net = tl.MLP([1, 12, 1], rng=1, init="torch")
tl.fit(net, data, tl.TrainConfig(epochs=800, optimizer="adam", lr=0.05), rng=1, quiet=True)

basis = decompose(net, X=data.X)
print(f"{'neuron':>6} {'slope':>8} {'kink':>8} {'importance':>10}  active   dead on data")
for row in basis.table():
    kink = "none" if row["kink"] is None else f"{row['kink']:8.3f}"
    print(
        f"{row['neuron']:6d} {row['slope']:8.3f} {kink:>8} {row['importance']:10.3f}  "
        f"{row['active_side']:7}  {row['dead_on_data']}"
    )

# %% [markdown]
# The ghosts plus the output bias are the network, exactly (up to float rounding).

# %%
grid = np.linspace(0, 2 * np.pi, 400).reshape(-1, 1)
ghosts = basis.ghosts(grid)  # (n, hidden, outputs)
rebuilt = ghosts.sum(axis=1) + basis.b_out
err = np.abs(rebuilt - net.predict(grid).astype(float)).max()
print(f"max |sum of ghosts + b_out - network| = {err:.2e}")
assert err < 1e-5  # float32 network
