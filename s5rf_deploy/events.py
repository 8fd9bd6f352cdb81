"""Event files and their binning into dense input windows.

Two layouts hold spikes as events rather than dense ``(N, T, H)`` arrays:

- **HDF5, the SHD/SSC layout** (Cramer et al. 2022): ``spikes/times`` (seconds)
  and ``spikes/units`` (channel 0..699), one variable-length array per sample,
  and ``labels``; other keys are ignored.
- **sparse .npz**: equal-length ``sample``, ``step``, ``channel`` and optional
  ``value`` (default 1) per event, optional ``labels`` (N,), optional scalars
  ``samples`` (N) and ``channels`` (H).

Binning (:func:`bin_events`): an event at time ``t`` falls in step
``floor(t * T / max_time)`` (``t == max_time`` in the last step, later events
are dropped); channels are summed in groups of ``pool`` neighbours; counts are
then clipped to the model's input kind by :func:`clip_counts`, the same for
every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s5rf_deploy.errors import FormatError

SHD_CHANNELS = 700  # units 0..699 in the SHD/SSC layout


def clip_counts(counts: np.ndarray, payload_bits: int = 1) -> np.ndarray:
    """Binned event counts as the model's inputs: at most ``2**payload_bits - 1`` per step and channel.

    Binary spike inputs (every model today: the fixed-point backends take 0/1 spikes) are one bit, so a bin
    with any event is a 1; graded inputs would pass their payload width.
    """
    return np.minimum(counts, 2 ** payload_bits - 1, dtype=counts.dtype).astype(np.float32)


@dataclass(frozen=True)
class Events:
    """The events of some consecutive or chosen samples: their sample position (0-based within the selection),
    time (seconds, or a step for sparse files), channel and value."""

    sample: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    value: np.ndarray | None = None


def bin_events(events: Events, n: int, steps: int, channels: int, pool: int, max_time: float | None
               ) -> np.ndarray:
    """Counts ``(n, steps, channels // pool)``: times in seconds binned over ``max_time``, or (``max_time``
    None) steps taken as they are and those beyond ``steps`` dropped."""
    if max_time is None:
        step = events.time.astype(np.int64)
        keep = step < steps
    else:
        scaled = events.time * steps  # float64, as the rule is written (times are >= 0: truncation floors)
        scaled /= max_time
        step = scaled.astype(np.int64)
        np.minimum(step, steps - 1, out=step)
        keep = events.time <= max_time
    sample, channel, value = events.sample, events.channel, events.value
    if not keep.all():
        sample, step, channel = sample[keep], step[keep], channel[keep]
        value = None if value is None else value[keep]
    width = channels // pool
    flat = sample * steps
    flat += step
    flat *= width
    flat += channel // pool
    return np.bincount(flat, value, minlength=n * steps * width).reshape(n, steps, width)


def check_events(path: str, first: int, events: Events, channels: int) -> None:
    """Refuse non-finite or negative times (steps) and channels outside ``0..channels-1``, naming the first bad
    sample (``first`` is the index of the selection's first sample in the file)."""
    checks = [(~np.isfinite(events.time), "non-finite time", events.time),
              (events.time < 0, "negative time", events.time),
              ((events.channel < 0) | (events.channel >= channels), f"unit outside 0..{channels - 1}", events.channel)]
    if events.value is not None:
        checks.append((~np.isfinite(events.value) | (events.value < 0), "value not a finite number >= 0",
                       events.value))
    for bad, what, values in checks:
        if np.any(bad):
            at = int(np.argmax(bad))
            raise FormatError(f"{path}: sample {first + int(events.sample[at])}: {what} ({values[at].item()!r})")
