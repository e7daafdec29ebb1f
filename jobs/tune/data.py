"""The data every trial trains on: the tutorial's synthetic classification set, split once.

The driver makes it and hands the arrays to the trials through Ray's object
store. This module imports neither torch nor Lightning (the trials' model.py
does): the driver only names the trial function, so `ray101 run tune` and its
`--help` start without the seconds those imports take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    """The train and validation arrays every trial shares (one copy in the object store)."""

    x_train: np.ndarray  # float32, one row per sample
    y_train: np.ndarray  # int64 class labels
    x_val: np.ndarray
    y_val: np.ndarray
    classes: int

    @property
    def features(self) -> int:
        return self.x_train.shape[1]


def make_data(spec: DataSpec) -> Split:
    """The tutorial's synthetic set, plus a seeded, stratified 80/20 split."""
    # Imported here: trial workers get the arrays and never need scikit-learn.
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
        x_train=x_train.astype(np.float32),
        y_train=y_train.astype(np.int64),
        x_val=x_val.astype(np.float32),
        y_val=y_val.astype(np.int64),
        classes=spec.classes,
    )
