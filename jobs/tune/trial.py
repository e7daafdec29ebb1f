"""The function Tune runs in each trial, as the driver names it.

It imports the model (torch and Lightning, seconds of start-up) only when a
trial starts, in the trial's worker: the driver pickles this function by name
and never imports them.
"""

from __future__ import annotations

from typing import Any

from jobs.tune.data import Split


def train_trial(
    config: dict[str, Any], split: Split, max_epochs: int, batch_size: int, seed: int
) -> None:
    """One Tune trial: :func:`jobs.tune.model.train_trial`, imported where it runs."""
    from jobs.tune import model

    model.train_trial(config, split, max_epochs, batch_size, seed)
