"""The demo's workspace: every file README.md's examples read, written next to the demo's own outputs.

The NIR paper's graphs and the reference checkpoint are copied from ``data/``
(sources and licences in ``data/README.md``); the spike inputs for them and the
toy training task are synthetic and seeded, so every demo writes the same bytes.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.converters.netx import NetxLayer, NetxNetwork, write_netx
from s5rf_deploy.dataset import Dataset, save_dataset
from s5rf_deploy.demo import model_path

MODEL_NAME = "demo.s5rf"
COPIES = {  # workspace name: file in data/
    "braille.nir": "braille_noDelay_bias_zero.nir",
    "lif_norse.nir": "lif_norse.nir",
    "skip4.eqx": "skip4.eqx",
    "skip4.json": "skip4.json",
    "skip4.npz": "skip4_inputs.npz",
}
BRAILLE_SHAPE = (8, 100, 12)  # samples, steps, input channels of braille.nir
BRAILLE_RATE = 0.2
TOY_SAMPLES, TOY_STEPS, TOY_CHANNELS = 120, 40, 4
TOY_PERIODS = (3, 5, 8)  # class k: every channel spikes every TOY_PERIODS[k] steps
TOY_NOISE = 0.05
SEED = 0
NEXT_COMMANDS = (  # the first commands of README.md after `cd s5rf-demo`
    "s5rf-deploy inspect demo.s5rf --poles poles.png",
    "s5rf-deploy simulate demo.s5rf --input test.npz --record spikes,states -o float.npz",
    "s5rf-deploy simulate demo.fxp --input test.npz --record spikes -o fixed.npz",
)


def braille_spikes() -> Dataset:
    """Unlabelled random spike trains for ``braille.nir`` (the braille data set is not public here)."""
    rng = np.random.default_rng(SEED)
    return Dataset((rng.random(BRAILLE_SHAPE) < BRAILLE_RATE).astype(np.float32))


def toy_task() -> Dataset:
    """Three classes told apart by rhythm alone: each channel spikes every 3, 5 or 8 steps from a random
    phase, plus 5 % random spikes; a task for resonators that trains in seconds."""
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, len(TOY_PERIODS), TOY_SAMPLES)
    inputs = rng.random((TOY_SAMPLES, TOY_STEPS, TOY_CHANNELS)) < TOY_NOISE
    for i, label in enumerate(labels):
        period = TOY_PERIODS[label]
        for channel, phase in enumerate(rng.integers(0, period, TOY_CHANNELS)):
            inputs[i, phase::period, channel] = True
    return Dataset(inputs.astype(np.float32), labels.astype(np.int64))


def netx_example() -> NetxNetwork:
    """A small lava-dl netx network (5 inputs, dense CUBA layers of 6 and 3 neurons) with seeded weights."""
    rng = np.random.default_rng(SEED)
    sizes = (5, 6, 3)
    layers = tuple(NetxLayer(rng.integers(-60, 100, (n_out, n_in)), i_decay=1024, v_decay=256, v_th_mant=80)
                   for n_in, n_out in zip(sizes, sizes[1:], strict=False))
    return NetxNetwork(sizes[0], layers)


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def write_workspace(out_dir: Path, train: Dataset, test: Dataset) -> list[str]:
    """Write README.md's input files into ``out_dir``; return their names."""
    data = resources.files(__package__) / "data"
    _copy(model_path(), out_dir / MODEL_NAME)
    for name, dataset in (("train.npz", train), ("test.npz", test), ("braille.npz", braille_spikes()),
                          ("toy.npz", toy_task())):
        save_dataset(dataset, out_dir / name)
    for name, source in COPIES.items():
        _copy(Path(str(data / source)), out_dir / name)
    write_netx(netx_example(), out_dir / "snn.net")
    return [MODEL_NAME, "train.npz", "test.npz", "braille.npz", "toy.npz", *COPIES, "snn.net"]
