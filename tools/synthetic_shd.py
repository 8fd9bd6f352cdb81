"""Write a synthetic event file in the SHD/SSC HDF5 layout, for tests and benchmarks.

Layout and sizes as published (Cramer et al. 2022, https://compneuro.net/ and
https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/): ``spikes/times``
(seconds) and ``spikes/units`` (0..699: 700 channels of an artificial cochlea),
one variable-length array per sample, ``labels``, and ``extra/`` (ignored by
s5rf-deploy).  Samples per split: SHD 8,156 train / 2,264 test (20 classes),
SSC 75,466 / 9,981 / 20,382 (35 classes).  SHD recordings last 0.24 to 1.17 s
(spikingjelly issue #300); durations here are drawn from that range.  The mean
spikes per sample is NOT a published figure we found: ``--spikes`` (default
8,000) is an assumption; set it when you know better.

    python tools/synthetic_shd.py ssc_test.h5 --samples 20382 --classes 35
"""

from __future__ import annotations

import argparse

import h5py
import numpy as np

CHANNELS = 700
DURATION_S = (0.24, 1.17)
CHUNK = 1000


def write_shd(path: str, samples: int, classes: int = 20, spikes: int = 8000, seed: int = 0) -> None:
    """``samples`` samples of Poisson-many spikes (mean ``spikes``) at uniform times over a drawn duration, on
    channels clustered around a class-dependent centre, labels drawn uniformly from ``classes``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (samples,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (samples,), dtype=h5py.vlen_dtype(np.uint16))
        f["labels"] = labels.astype(np.uint16)
        f["extra/speaker"] = rng.integers(0, 12, samples).astype(np.uint16)
        for start in range(0, samples, CHUNK):
            stop = min(start + CHUNK, samples)
            t_list, u_list = np.empty(stop - start, object), np.empty(stop - start, object)
            for i in range(start, stop):
                count = rng.poisson(spikes)
                duration = rng.uniform(*DURATION_S)
                t_list[i - start] = np.sort(rng.uniform(0, duration, count)).astype(np.float32)
                centre = (labels[i] + 0.5) * CHANNELS / classes
                u_list[i - start] = np.clip(rng.normal(centre, CHANNELS / 6, count), 0, CHANNELS - 1).astype(np.uint16)
            times[start:stop] = t_list
            units[start:stop] = u_list


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--samples", type=int, default=2264, help="default: SHD's test split")
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--spikes", type=int, default=8000, help="mean spikes per sample (an assumption)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_shd(args.path, args.samples, args.classes, args.spikes, args.seed)


if __name__ == "__main__":
    main()
