# %% [markdown]
# # Exact linear regions
# A ReLU network is affine on each region of a partition of its input space. tinylens finds
# every region exactly: its activation pattern, its polygon (in 2-D) and its affine map.

# %%
import numpy as np

import tinylens as tl
from tinylens.data import spiral
from tinylens.geometry import linear_regions, pieces_1d

net = tl.MLP([2, 8, 8, 3], rng=0, init="torch")
tl.fit(
    net,
    spiral(n=400, rng=0),
    tl.TrainConfig(epochs=100, optimizer="adam", lr=0.02),
    rng=0,
    quiet=True,
)
regions = linear_regions(net, [(-1, 1), (-1, 1)])
print(f"{regions.count} regions; layer by layer: {regions.counts_per_layer}")
print(f"areas sum to {regions.volumes().sum():.12f} (the box has area 4)")

# %% [markdown]
# Every point belongs to one region, where the region's affine map is the network.

# %%
x = np.array([0.3, -0.2])
region = regions.region_of(x)
print("pattern", region.pattern)
print("f(x) =", "; ".join(region.formula()))
assert np.allclose(region(x), net.predict(x.reshape(1, -1))[0], atol=1e-5)

# %% [markdown]
# In 1-D the breakpoints are exact; with rational weights they are exact fractions.

# %%
abs_net = tl.AffineNet.from_lists([([[1], [-1]], [0, 0], "relu"), ([[1, 1]], [0], "identity")])
pieces = pieces_1d(abs_net, -2, 2)
print("breakpoints of |x| on [-2, 2]:", pieces.breakpoints)
