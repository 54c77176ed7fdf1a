# %% [markdown]
# # Hooks, caches and ablations on any model
# The same calls work on an engine network and on any torch module.

# %%
import numpy as np
import torch
from torch import nn

import tinylens as tl
from tinylens.data import digits
from tinylens.interventions import ablation_sweep, intervene, zero_ablation

data = digits()
train, test = data.split(0.2, rng=0)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
tl.fit(model, train, tl.TrainConfig(epochs=30, optimizer="adam", lr=0.01), rng=0, quiet=True)

hooked = tl.hooked(model)
print("hook points:", hooked.hook_names)
out, cache = hooked.run_with_cache(test.X, names="[13]")
print({name: cache[name].shape for name in cache})

# %% [markdown]
# Ablate one neuron in a scoped block (the model is unchanged afterwards), then every neuron of
# a layer in one batched computation, scored by per-class accuracy.

# %%
with intervene(hooked, [zero_ablation("3", [0])]) as m:
    ablated = m.forward(test.X)
sweep = ablation_sweep(hooked, test, "3")
worst = int(np.argmax(sweep.drop_))
print(
    f"baseline accuracy {sweep.baseline_accuracy_:.3f}; ablating neuron {worst} of layer 3 "
    f"costs {sweep.drop_[worst]:.3f}"
)
assert sweep.class_accuracy_.shape == (16, 10)
