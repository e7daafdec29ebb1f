"""The data every trial trains on: the tutorial's synthetic classification set, split once.

The driver makes it (scikit-learn is imported only there) and hands the
tensors to the trials through Ray's object store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from jobs.runtime.errors import UsageError

VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class DataSpec:
    """The ``make_classification`` settings; the defaults are the tutorial's."""

    samples: int = 1000
    features: int = 20
    informative: int = 10
    classes: int = 2
    seed: int = 42

    def check(self) -> None:
        """make_classification's own constraints, as one-line user errors."""
        if self.informative > self.features:
            raise UsageError(
                f"--informative ({self.informative}) cannot exceed --features ({self.features})"
            )
        if self.classes < 2:
            raise UsageError(f"--classes must be at least 2, got {self.classes}")
        # Two clusters per class must fit in the 2**informative hypercube corners.
        if self.classes * 2 > 2**self.informative:
            raise UsageError(
                f"--classes {self.classes} needs --informative >= {self.classes.bit_length()}"
            )
        val = round(self.samples * VALIDATION_FRACTION)
        if val < self.classes or self.samples - val < self.classes:
            raise UsageError(f"--samples {self.samples} is too few to split {self.classes} classes")


@dataclass
class Split:
    """The train and validation tensors every trial shares (one copy in the object store)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: int

    @property
    def features(self) -> int:
        return self.x_train.shape[1]


def make_data(spec: DataSpec) -> Split:
    """The tutorial's synthetic set, plus a seeded, stratified 80/20 split."""
    # Imported here: trial workers get the tensors and never need scikit-learn.
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(
        n_samples=spec.samples,
        n_features=spec.features,
        n_informative=spec.informative,
        # The tutorial leaves sklearn's default of 2; fewer when features run out.
        n_redundant=min(2, spec.features - spec.informative),
        n_classes=spec.classes,
        random_state=spec.seed,
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_FRACTION, random_state=spec.seed, stratify=y
    )
    return Split(
        x_train=torch.tensor(x_train, dtype=torch.float32),
        y_train=torch.tensor(y_train, dtype=torch.long),
        x_val=torch.tensor(x_val, dtype=torch.float32),
        y_val=torch.tensor(y_val, dtype=torch.long),
        classes=spec.classes,
    )


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
        self.train = TensorDataset(self.split.x_train, self.split.y_train)
        self.val = TensorDataset(self.split.x_val, self.split.y_val)
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
