"""Native checkpoints: exact round trip, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import make_model, random_spikes
from s5rf_deploy import container
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.s5rf.checkpoint import KIND, load_checkpoint, save_checkpoint


@pytest.mark.parametrize("variant", ["zoh_vmix", "bilinear_polar", "dirac_real"])
def test_round_trip_is_exact(tmp_path, variant):
    model = make_model(variant, layers=3, seed=4)
    save_checkpoint(model, tmp_path / "m.s5rf", {"note": "test"})
    loaded = load_checkpoint(tmp_path / "m.s5rf")
    assert loaded.config == model.config
    assert loaded.provenance == {"note": "test"}
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    u = torch.from_numpy(random_spikes(2, 30, 5))
    with torch.no_grad():
        assert torch.equal(model(u).logprobs, loaded(u).logprobs)


def test_checkpoint_loads_without_pickle(tmp_path):
    save_checkpoint(make_model("dirac_keepimag"), tmp_path / "m.s5rf")
    with np.load(tmp_path / "m.s5rf", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_truncated_file(tmp_path):
    save_checkpoint(make_model("dirac_keepimag"), tmp_path / "m.s5rf")
    raw = (tmp_path / "m.s5rf").read_bytes()
    path = _write(tmp_path, "t.s5rf", raw[: len(raw) // 3])
    with pytest.raises(FormatError, match="not a readable"):
        load_checkpoint(path)


def test_garbage_and_missing_files(tmp_path):
    with pytest.raises(FormatError, match="not a readable"):
        load_checkpoint(_write(tmp_path, "g.s5rf", b"hello world" * 10))
    with pytest.raises(FormatError, match="no such file"):
        load_checkpoint(tmp_path / "absent.s5rf")


def test_wrong_kind_and_version(tmp_path):
    container.save(tmp_path / "k.s5rf", "something-else", 1, {}, {"a": np.zeros(2)})
    with pytest.raises(FormatError, match="something-else"):
        load_checkpoint(tmp_path / "k.s5rf")
    container.save(tmp_path / "v.s5rf", KIND, 99, {}, {"a": np.zeros(2)})
    with pytest.raises(FormatError, match="version 99"):
        load_checkpoint(tmp_path / "v.s5rf")


def test_tensor_mismatches_name_the_tensor(tmp_path):
    model = make_model("dirac_keepimag")
    save_checkpoint(model, tmp_path / "m.s5rf")
    meta, arrays = container.load(tmp_path / "m.s5rf", KIND, 1)
    meta = {k: v for k, v in meta.items() if k not in ("format", "kind", "version")}
    bad = dict(arrays, **{"layers.0.B": arrays["layers.0.B"][:3]})
    container.save(tmp_path / "s.s5rf", KIND, 1, meta, bad)
    with pytest.raises(FormatError, match=r"'layers.0.B' has shape \(3, 5, 2\)"):
        load_checkpoint(tmp_path / "s.s5rf")
    nan = dict(arrays, tau=np.full_like(arrays["tau"], np.nan))
    container.save(tmp_path / "n.s5rf", KIND, 1, meta, nan)
    with pytest.raises(FormatError, match="'tau' contains NaN"):
        load_checkpoint(tmp_path / "n.s5rf")
    missing = {k: v for k, v in arrays.items() if k != "readout_weight"}
    container.save(tmp_path / "x.s5rf", KIND, 1, meta, missing)
    with pytest.raises(FormatError, match="missing tensor 'readout_weight'"):
        load_checkpoint(tmp_path / "x.s5rf")


def test_failed_write_leaves_no_file(tmp_path):
    model = make_model("dirac_keepimag")
    with pytest.raises(S5RFError, match="does not exist"):
        save_checkpoint(model, tmp_path / "missing_dir" / "m.s5rf")
    assert list(tmp_path.iterdir()) == []
