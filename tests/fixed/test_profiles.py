"""Hardware profiles: shipped files, user files, and errors that name the key."""

from __future__ import annotations

import tomllib

import pytest

from helpers import REPO
from s5rf_deploy.errors import ConfigError
from s5rf_deploy.hw_profiles import builtin_profiles, load_profile, profile_from_dict

SHIPPED = REPO / "hw_profiles" / "loihi2.toml"


def test_shipped_profiles_load():
    assert {"loihi2", "loihi2-wide"} <= set(builtin_profiles())
    p = load_profile("loihi2")
    assert p.state_max == 2**23 - 1 and p.decay["bits"] == 12 and p.weights["mantissa_bits"] == 8
    assert load_profile("loihi2-wide").decay["bits"] == 16
    assert p.sources


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


def test_user_profile_by_path(tmp_path):
    text = SHIPPED.read_text().replace('name = "loihi2"', 'name = "mine"').replace("bits = 12", "bits = 14", 1)
    p = load_profile(_write(tmp_path, text))
    assert p.name == "mine"


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("max_fan_in = 8192", "max_fan_in = 8192\nmax_fun_in = 3"), "resources.max_fun_in"),
    (lambda t: t.replace("cores_per_chip = 128\n", ""), "missing key resources.cores_per_chip"),
    (lambda t: t.replace("[decay]\nbits = 12", "[decay]\nbits = 30"), "decay.bits = 30"),
    (lambda t: t.replace('rounding = "toward_zero"', 'rounding = "up"'), "decay.rounding"),
    (lambda t: t.replace("mantissa_bits = 8", "mantissa_bits = 12"), "weights.mantissa_bits"),
    (lambda t: t.replace("exponent_min = -8", "exponent_min = 3"), "weights.exponent_min"),
    (lambda t: t.replace("bits = 24", 'bits = "24"', 1), "state.bits must be a int"),
    (lambda t: "colour = 'blue'\n" + t, "unknown key 'colour'"),
    (lambda t: t.replace("[spikes]", "[spikez]"), "unknown key 'spikez'"),
    (lambda t: t + "\n[[", "invalid TOML"),
])
def test_profile_errors_name_the_key(tmp_path, edit, message):
    text = edit(SHIPPED.read_text())
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_profile(_write(tmp_path, text))


def test_unknown_profile_name():
    with pytest.raises(ConfigError, match="unknown profile 'loihi9'"):
        load_profile("loihi9")


def test_shipped_files_are_plain_toml():
    for name in builtin_profiles():
        raw = tomllib.loads((SHIPPED.parent / f"{name}.toml").read_text())
        assert raw["name"] == name


def test_a_profile_whose_products_leave_the_exact_range_is_refused():
    raw = tomllib.loads(SHIPPED.read_text())
    raw["state"]["bits"], raw["decay"]["bits"] = 40, 14  # 2^39 states times 14-bit decays: beyond 2^52
    with pytest.raises(ConfigError, match="exact"):
        profile_from_dict(raw, "wide.toml")
    raw["decay"]["bits"] = 13  # 39 + 13 = 52: still exact
    assert profile_from_dict(raw, "wide.toml").state_max == 2**39 - 1
