"""The embedded demo task: scikit-learn's 8x8 digits as spike trains.

Encoding (deterministic, no randomness): the image is scanned row by row, top
to bottom; each of the 8 columns is one input channel.  A row is shown for
``STEPS_PER_ROW`` steps, and a pixel of intensity ``v`` (0..16) spikes in the
first ``round(v / 16 * STEPS_PER_ROW)`` of them.  ``TAIL_STEPS`` silent steps
follow, so the resonators ring out before the readout is averaged.  Inputs are
``(N, 8 * STEPS_PER_ROW + TAIL_STEPS, 8)`` binary arrays.  The split is fixed:
the last ``TEST_FRACTION`` of a seeded permutation is the test split.

The pixel-sequence version (``encoding="analog"``, for graded inputs) has the
same layout, but a row's 8 channels carry the pixel intensities ``v / 16`` (in
[0, 1]) on each of its ``STEPS_PER_ROW`` steps instead of spike counts.
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.dataset import Dataset

STEPS_PER_ROW = 4
TAIL_STEPS = 8
TEST_FRACTION = 0.25
SPLIT_SEED = 0
MAX_INTENSITY = 16


def encode(images: np.ndarray) -> np.ndarray:
    """Spike trains ``(N, T, 8)`` of 8x8 digit images ``(N, 8, 8)`` with values 0..16."""
    counts = np.rint(images / MAX_INTENSITY * STEPS_PER_ROW).astype(np.int64)  # (N, row, col)
    sub = np.arange(STEPS_PER_ROW)
    frames = (sub[None, None, :, None] < counts[:, :, None, :]).astype(np.float32)  # (N, row, sub, col)
    n, rows, _, cols = frames.shape
    seq = frames.reshape(n, rows * STEPS_PER_ROW, cols)
    return np.concatenate([seq, np.zeros((n, TAIL_STEPS, cols), np.float32)], axis=1)


def encode_analog(images: np.ndarray) -> np.ndarray:
    """Pixel-intensity sequences ``(N, T, 8)`` in [0, 1] of 8x8 digit images ``(N, 8, 8)`` with values 0..16."""
    seq = np.repeat(images.astype(np.float32) / MAX_INTENSITY, STEPS_PER_ROW, axis=1)
    return np.concatenate([seq, np.zeros((len(images), TAIL_STEPS, images.shape[2]), np.float32)], axis=1)


ENCODINGS = {"spikes": encode, "analog": encode_analog}


def load_split(split: str, encoding: str = "spikes") -> Dataset:
    """The ``"train"`` or ``"test"`` split of the digits, as spike trains or (``"analog"``) pixel sequences."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits.target))
    n_test = int(round(len(order) * TEST_FRACTION))
    idx = {"train": order[:-n_test], "test": order[-n_test:]}[split]
    return Dataset(ENCODINGS[encoding](digits.images[idx]), digits.target[idx].astype(np.int64))
