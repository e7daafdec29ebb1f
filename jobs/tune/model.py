"""What a trial runs: the tutorial's MLP in Lightning, reporting to Tune every epoch.

Only trial workers import this module (through jobs.tune.trial), so it stays
free of the driver's imports (scikit-learn, the Tuner set-up, the report), and
the driver never pays for torch and Lightning.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from typing import Any

import pytorch_lightning as pl
import ray
import torch
from ray import tune
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from jobs.tune.data import Split

# What each checkpoint directory holds: ``{"state_dict": ..., "hparams": ...}``,
# so ``MLP(**hparams).load_state_dict(state_dict)`` restores the trained model.
CHECKPOINT_FILE = "model.pt"


class MLP(pl.LightningModule):
    """The tutorial's model: Linear -> ReLU -> Linear, trained with Adam."""

    def __init__(
        self,
        input_dim: int = 20,
        hidden_size: int = 64,
        learning_rate: float = 1e-3,
        classes: int = 2,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = nn.Sequential(
            nn.Linear(input_dim, hidden_size), nn.ReLU(), nn.Linear(hidden_size, classes)
        )
        self.criterion = nn.CrossEntropyLoss()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.criterion(self(x), y)
        # The epoch mean, not the last batch: a single batch's loss is noise.
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", self.criterion(logits, y), batch_size=len(y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean(), batch_size=len(y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


class ClassificationData(pl.LightningDataModule):
    """Batches cut straight from in-memory tensors.

    A plain ``DataLoader(TensorDataset)`` fetches rows one at a time and stacks
    them; indexing the tensors with a whole batch of indices does the same work
    in one call, which matters when an epoch is only a few hundred rows.
    """

    def __init__(self, split: Split, batch_size: int, seed: int) -> None:
        super().__init__()
        self.split = split
        self.batch_size = batch_size
        self.seed = seed

    def setup(self, stage: str | None = None) -> None:
        # Copies: the object store's arrays are read-only, and torch wants to own them.
        split = self.split
        self.train = TensorDataset(torch.tensor(split.x_train), torch.tensor(split.y_train))
        self.val = TensorDataset(torch.tensor(split.x_val), torch.tensor(split.y_val))
        # Same seed in every trial: the batch order is the same, so trials differ
        # only by their hyperparameters.
        self.generator = torch.Generator().manual_seed(self.seed)

    def train_dataloader(self) -> DataLoader:
        sampler = BatchSampler(
            RandomSampler(self.train, generator=self.generator), self.batch_size, drop_last=False
        )
        return DataLoader(self.train, batch_size=None, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        # The whole validation set is one batch: one forward pass per epoch.
        sampler = BatchSampler(SequentialSampler(self.val), len(self.val), drop_last=False)
        return DataLoader(self.val, batch_size=None, sampler=sampler)


class ReportEachEpoch(pl.Callback):
    """Send each epoch's metrics and a small checkpoint to Tune.

    Tune's scheduler decides after every report; ASHA can only stop a trial
    that reports while it trains. The checkpoint holds the weights alone
    (a few KB) rather than Lightning's full trainer state, so saving one every
    epoch costs little; CheckpointConfig keeps only the best few.
    """

    def __init__(self, accelerator: str) -> None:
        self.accelerator = accelerator

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        context = ray.get_runtime_context()
        # Where the trial ran, reported while it runs: its node, its worker (an
        # actor) and its reservation (a placement group), so a run's results name
        # what it held even after the GCS has forgotten them.
        metrics.update(
            epoch=trainer.current_epoch + 1,
            gpu=int(self.accelerator == "cuda"),
            node_id=context.get_node_id(),
            actor_id=context.get_actor_id(),
            placement_group_id=context.get_placement_group_id(),
        )
        with tempfile.TemporaryDirectory() as tmp:
            state = {k: v.cpu() for k, v in pl_module.state_dict().items()}
            torch.save(
                {"state_dict": state, "hparams": dict(pl_module.hparams)},
                os.path.join(tmp, CHECKPOINT_FILE),
            )
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def quiet_lightning() -> None:
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    # Batches are slices of in-memory tensors: loader worker processes would
    # only add start-up time. The pytree notice is a deprecation inside Lightning.
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def build_trainer(max_epochs: int, accelerator: str, callbacks: list[pl.Callback]) -> pl.Trainer:
    """A Trainer with every per-epoch extra turned off: Tune does the logging."""
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )


def train(
    config: dict[str, Any],
    split: Split,
    max_epochs: int,
    batch_size: int,
    seed: int,
    accelerator: str = "cpu",
    callbacks: tuple[pl.Callback, ...] = (),
) -> tuple[MLP, pl.Trainer, ClassificationData]:
    """Train one config: the same initial weights and batch order for every config."""
    torch.manual_seed(seed)
    model = MLP(split.features, config["hidden_size"], config["learning_rate"], split.classes)
    trainer = build_trainer(max_epochs, accelerator, list(callbacks))
    data = ClassificationData(split, batch_size, seed)
    trainer.fit(model, datamodule=data)
    return model, trainer, data


def train_trial(
    config: dict[str, Any], split: Split, max_epochs: int, batch_size: int, seed: int
) -> None:
    """One Tune trial: train the MLP for up to ``max_epochs``, reporting every epoch."""
    quiet_lightning()
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    # Ray sets CUDA_VISIBLE_DEVICES to the trial's own GPUs, if it was given any.
    accelerator = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    train(config, split, max_epochs, batch_size, seed, accelerator, (ReportEachEpoch(accelerator),))
