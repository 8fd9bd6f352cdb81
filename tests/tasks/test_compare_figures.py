"""The figures of ``compare`` (issue #14): float and fixed point on the same axes with the differences marked,
several samples, every layer, the output in the agreement chart, titled confusion matrices side by side."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from s5rf_deploy.tasks import compare_figures as figures
from s5rf_deploy.tasks.compare import Runs, metrics


@pytest.fixture
def runs() -> Runs:
    """Two layers, four samples; in layer 1 the fixed point flips two spikes of sample 1 (neuron 4) and one of
    sample 2 (neuron 2); in layer 0 the state of neuron 3 drifts in sample 1, where neuron 0 is the most active."""
    rng = np.random.default_rng(0)
    spikes = [(rng.random((4, 12, 5)) < 0.3).astype(np.uint8) for _ in range(2)]
    spikes[0][1, :, 0] = 1
    fixed = [s.copy() for s in spikes]
    for n, t, k in ((1, 3, 4), (1, 7, 4), (2, 5, 2)):
        fixed[1][n, t, k] = 1 - spikes[1][n, t, k]
    states = [rng.normal(size=(4, 12, 5)) + 1j * rng.normal(size=(4, 12, 5)) for _ in range(2)]
    drift = [z.copy() for z in states]
    drift[0][1, :, 3] += 0.5  # layer 0, neuron 3 moves furthest
    logits = np.log(np.full((4, 3), 1 / 3)) + np.eye(3)[[0, 1, 2, 0]]
    fixed_logits = logits + np.eye(3)[[0, 2, 2, 0]] * 2
    return Runs(["layer 0", "layer 1"], spikes, fixed, logits, fixed_logits, [np.ones(5)] * 2, [1, 1], states, drift)


def test_samples_that_differ_most_come_first(runs):
    assert figures.differing_samples(runs) == [1, 2, 0]


def test_raster_overlays_float_and_fixed_with_differences_marked(runs):
    fig = figures.raster(runs, [1, 2, 0])
    axes = np.array(fig.axes).reshape(2, 3)
    panel = axes[1, 0]  # layer 1, sample 1
    marked = {c.get_label(): [tuple(p) for p in c.get_offsets()] for c in panel.collections}
    a, b = runs.float_spikes[1][1], runs.fixed_spikes[1][1]
    assert marked["float only"] == [(t, k) for t, k in zip(*np.nonzero(a & (1 - b)), strict=True)]
    assert marked["fixed point only"] == [(t, k) for t, k in zip(*np.nonzero(b & (1 - a)), strict=True)]
    assert len(marked["both"]) == int((a & b).sum())
    assert "sample 1: 2 spikes differ" in panel.get_title() and "sample 2: 1 spike differs" in axes[1, 1].get_title()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["both", "float only", "fixed point only"]


def test_traces_show_every_layer_float_and_fixed_and_shade_differing_steps(runs):
    fig = figures.traces(runs, 1)
    axes = np.array(fig.axes).reshape(2, 2)  # one row per layer
    assert "neuron 4 (most spikes differ)" in axes[1, 0].get_title()
    assert "neuron 3 (largest error)" in axes[0, 1].get_title()
    for ax in axes.flat:
        assert [line.get_label() for line in ax.get_lines()] == ["float", "fixed point"]
    assert len(axes[1, 0].patches) == 2 and not axes[0, 0].patches  # shaded: steps 3 and 7
    assert figures.traces(Runs(runs.layers, runs.float_spikes, runs.fixed_spikes, runs.float_logits,
                                    runs.fixed_logits, runs.fan_out, runs.payload_bits), 0) is None  # no states


def test_agreement_has_an_output_bar_and_marks_low_agreement(runs):
    result = metrics(runs)
    result["layers"][0]["spike_agreement"] = 0.5
    result["layers"][1]["spike_agreement"] = 0.999
    ax = figures.agreement(result).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 0", "layer 1", "output (top-1)"]
    bars = ax.patches
    assert bars[-1].get_height() == result["output"]["top1_agreement"] == 0.75
    assert bars[0].get_facecolor() == to_rgba(figures.FIXED) != bars[1].get_facecolor()
    assert ax.get_ylim()[0] < 0.5


def test_confusion_matrices_of_float_and_fixed_side_by_side_with_titles_and_colour_bars(runs):
    labels = np.array([0, 1, 2, 0])
    fig = figures.confusion(runs, labels)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2 and len(fig.axes) == 4  # two matrices, two colour bars
    assert images[0].get_title() == "float: accuracy 1.0000"
    assert images[1].get_title().startswith("fixed point: accuracy 0.7500")
    framed = [p.get_xy() for p in images[1].patches]
    assert sorted(framed) == [(0.5, 0.5), (1.5, 0.5)]  # label 1: float says 1, fixed point 2
    single = figures.confusion(runs, None)
    assert len(single.axes) == 2 and "top-1 agreement 0.7500" in single.axes[0].get_title()
