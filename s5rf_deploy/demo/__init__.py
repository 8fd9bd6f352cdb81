"""The embedded demo: encoded scikit-learn digits and a small trained S5-RF model."""

from importlib import resources
from pathlib import Path

MODEL_CONFIG = {
    "input_dim": 8,
    "output_dim": 10,
    "num_neurons": [64, 64],
    "num_blocks": [8, 8],
    "discretization": "dirac",
    "keep_imag": True,
    "spike": "cartesian",
    "apply_skip": True,
    "eta_min": 0.05,
    "eta_max": 0.5,
    "dropout": 0.1,
}


def model_path() -> Path:
    """Path of the shipped demo checkpoint."""
    return Path(str(resources.files(__package__) / "digits_model.s5rf"))
