# %% [markdown]
# # The engine and PyTorch
# A NumPy network built from scratch, checked against finite differences, trained with the one
# training loop, saved in the safe weights format, and converted to PyTorch and back exactly.

# %%
import tempfile
from pathlib import Path

import numpy as np
import torch

import tinylens as tl
from tinylens.data import spiral

rng = np.random.default_rng(0)
net = tl.MLP([2, 32, 32, 3], rng=rng)
print(net)

# %% [markdown]
# Every layer's backward is checked against central differences (in float64).

# %%
x, y = rng.normal(size=(8, 2)), rng.integers(0, 3, size=8)
check = tl.gradcheck(net, x, y, loss="cross_entropy")
print(check)
assert check.passed

# %% [markdown]
# Train on the spiral with the one loop every study uses.

# %%
train, val = spiral(n=600, classes=3, noise=0.2, rng=0).split(0.2, rng=0)
history = tl.fit(net, train, tl.TrainConfig(epochs=100, optimizer="adam", lr=0.01), rng=0, val=val)
print(f"validation accuracy after {len(history.epoch)} epochs: {history.val_accuracy[-1]:.3f}")
assert history.val_accuracy[-1] > 0.9

# %% [markdown]
# Save (safetensors with a checksum; never pickle), load, and convert to PyTorch and back.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = tl.save(net, Path(tmp) / "spiral.safetensors")
    same = tl.load(path)
module = tl.to_torch(net)
out_torch = module(torch.from_numpy(val.X)).detach().numpy()
print("engine vs torch, max |difference|:", np.abs(out_torch - net.forward(val.X)).max())
back = tl.from_torch(module)
assert all(
    np.array_equal(a, b)
    for a, b in zip(back.state_dict().values(), net.state_dict().values(), strict=True)
)
assert np.array_equal(same.predict(val.X), net.predict(val.X))
