"""Training of the float S5-RF model (surrogate gradients, as in the reference)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from s5rf_deploy.dataset import Dataset
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.progress import Progress, batches
from s5rf_deploy.s5rf.model import S5RFModel
from s5rf_deploy.timing import stage

SSM_PARAMS = ("log_neg_real", "imag", "log_step")


@dataclass(frozen=True)
class TrainSettings:
    """Optimizer settings: AdamW for weights, Adam for the eigenvalues and steps."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 4e-3
    lr_ssm: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0


SILENT_RATE = 1e-3  # a layer spiking less often than this passes (almost) nothing on


@dataclass
class TrainHistory:
    """Per-epoch mean training loss, validation accuracy and spike rate of each RF layer."""

    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    rates: list[list[float]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What says the network learns nothing, one line each with what to try."""
        out = [f"layer {i} is silent (spike rate {rate:.2g} in the last epoch): the layers after it see nothing; "
               f"try a larger input gain, a larger --eta range or a higher --lr"
               for i, rate in enumerate(self.rates[-1] if self.rates else []) if rate < SILENT_RATE]
        if len(self.loss) > 1 and abs(self.loss[0] - self.loss[-1]) <= 1e-3 * abs(self.loss[0]):
            out.append(f"the loss did not move ({self.loss[0]:.4f} -> {self.loss[-1]:.4f}): the network is not "
                       f"learning; check the spike rates, raise --lr or train longer")
        return out


def predict(model: S5RFModel, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Float log-probabilities ``(N, C)`` of ``inputs`` in evaluation mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(inputs[start:start + batch_size])
            out.append(model(batch).logprobs.cpu().numpy())
    return np.concatenate(out)


def accuracy(model: S5RFModel, data: Dataset) -> float:
    """Top-1 accuracy on a labelled dataset."""
    if data.labels is None:
        raise S5RFError("accuracy needs labels")
    return float(np.mean(predict(model, data.inputs).argmax(-1) == data.labels))


def _optimizer(model: S5RFModel, settings: TrainSettings, total_steps: int):
    ssm = [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] in SSM_PARAMS]
    other = [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] not in SSM_PARAMS]
    opt = torch.optim.AdamW(
        [
            {"params": other, "lr": settings.lr, "weight_decay": settings.weight_decay},
            {"params": ssm, "lr": settings.lr_ssm, "weight_decay": 0.0},
        ]
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )
    return opt, sched


def train(
    model: S5RFModel,
    train_data: Dataset,
    val_data: Dataset | None,
    settings: TrainSettings,
    on_epoch: Callable[[int, TrainHistory], None] | None = None,
    progress: Progress | None = None,
) -> TrainHistory:
    """Train ``model`` in place with cross-entropy on the time-averaged readout.

    ``progress`` is told the samples of each finished batch (``epochs x N`` in all);
    ``on_epoch(epoch, history)`` is called after each epoch.
    """
    if train_data.labels is None:
        raise S5RFError("training data has no 'labels'")
    if train_data.labels.max() >= model.config.output_dim:
        raise S5RFError(
            f"labels go up to {train_data.labels.max()}, the model has {model.config.output_dim} classes"
        )
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    n = len(train_data)
    opt, sched = _optimizer(model, settings, settings.epochs * math.ceil(n / settings.batch_size))
    history = TrainHistory()
    inputs = torch.from_numpy(train_data.inputs)
    labels = torch.from_numpy(train_data.labels)
    for epoch in range(settings.epochs):
        with stage(f"epoch {epoch + 1}/{settings.epochs} on {n} samples"):
            model.train()
            order = torch.from_numpy(rng.permutation(n))
            total = 0.0
            fired = np.zeros(model.config.num_layers)
            for part in batches(n, settings.batch_size, progress):
                idx = order[part]
                out = model(inputs[idx])
                fired += [float(s.detach().mean()) * len(idx) for s in out.spikes]
                loss = torch.nn.functional.nll_loss(out.logprobs, labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            history.loss.append(total / n)
            history.rates.append((fired / n).tolist())
            val_acc = accuracy(model, val_data) if val_data is not None and val_data.labels is not None else None
            if val_acc is not None:
                history.val_accuracy.append(val_acc)
        if on_epoch:
            on_epoch(epoch, history)
    model.eval()
    return history
