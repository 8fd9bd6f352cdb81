"""Rebuild the shipped demo checkpoint: ``python -m s5rf_deploy.demo.build [OUT]``.

Trains the demo configuration on the train split (the last 10 % of it held out
for validation) with fixed seeds and reports the test accuracy.
"""

from __future__ import annotations

import sys

import torch

from s5rf_deploy.dataset import Dataset
from s5rf_deploy.demo import MODEL_CONFIG, digits, model_path
from s5rf_deploy.s5rf.checkpoint import save_checkpoint
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel
from s5rf_deploy.s5rf.training import TrainSettings, accuracy, train

SETTINGS = TrainSettings(epochs=15, batch_size=32, lr=1e-2, lr_ssm=5e-3, weight_decay=1e-4, seed=0)
VAL_FRACTION = 0.1


def build(out: str) -> float:
    """Train the demo model, write it to ``out`` and return its test accuracy."""
    torch.manual_seed(0)
    data = digits.load_split("train")
    n_val = int(len(data) * VAL_FRACTION)
    fit = Dataset(data.inputs[:-n_val], data.labels[:-n_val])
    val = Dataset(data.inputs[-n_val:], data.labels[-n_val:])
    model = S5RFModel(ModelConfig.from_dict(MODEL_CONFIG), seed=0)
    train(model, fit, val, SETTINGS,
          on_epoch=lambda e, h: print(f"epoch {e + 1}: loss {h.loss[-1]:.4f} val {h.val_accuracy[-1]:.4f}"))
    test_acc = accuracy(model, digits.load_split("test"))
    save_checkpoint(model, out, {"source": "s5rf_deploy.demo.build", "test_accuracy": test_acc})
    return test_acc


if __name__ == "__main__":
    torch.set_num_threads(2)
    print(f"test accuracy: {build(sys.argv[1] if len(sys.argv) > 1 else str(model_path())):.4f}")
