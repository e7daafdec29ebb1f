"""The Ray 101 tutorial's Tune example, run on Ray 2.60 with as few changes as possible.

The model, data, Trainer, search space, scheduler and the ``tune.run`` call are the
tutorial's own code (Steps 1-5, unchanged). It still runs as written on Ray 2.60:
``tune.run`` and ``TuneReportCallback`` are deprecated but present. What is added,
all outside the tutorial's steps, and why:

- ``ray.init(address="local", num_cpus=...)`` before ``tune.run``: the tutorial lets
  ``tune.run`` start Ray, which would join any cluster already running on the machine;
  a benchmark must start its own, with a known number of CPUs.
- ``storage_path`` in ``tune.run``: results go to a scratch directory instead of
  ``~/ray_results``.
- A timer around ``tune.run`` and a JSON summary (best config, trials, epochs, and
  the budget the run had: trials, epochs per trial, rows) for
  ``scripts/bench/tune_compare.py``. Epochs per trial are read from the checkpoint
  that Lightning's default ModelCheckpoint leaves in each trial's working directory
  (``epoch=9-step=250.ckpt`` means 10 epochs): the tutorial reports to Tune once, at
  train_end, so Tune itself never sees the epochs.

Behaviour kept on purpose: one report per trial, at train_end, of the last training
batch's loss, so ASHA has nothing to compare while trials train and every trial runs
all 10 epochs.

Run: .venv/bin/python scripts/bench/tune_tutorial.py [--num-cpus 2] [--json-out FILE]
"""

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import ray
import torch
from ray import tune
from ray.tune.integration.pytorch_lightning import TuneReportCallback
from ray.tune.schedulers import ASHAScheduler
from sklearn.datasets import make_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split


# Step 1: Generate synthetic data
def generate_synthetic_data(n_samples=1000, n_features=20, n_classes=2):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=10,
        n_classes=n_classes,
        random_state=42,
    )
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.long)


# Step 2: Define a Lightning DataModule for the synthetic data
class SyntheticDataModule(pl.LightningDataModule):
    def __init__(self, batch_size=32):
        super(SyntheticDataModule, self).__init__()  # noqa: UP008 (tutorial code)
        self.batch_size = batch_size

    def setup(self, stage=None):
        X, y = generate_synthetic_data()
        dataset = TensorDataset(X, y)
        self.train, self.val = random_split(dataset, [800, 200])

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=self.batch_size)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=self.batch_size)


# Step 3: Define a simple model
class SimpleModel(pl.LightningModule):
    def __init__(self, input_dim=20, hidden_size=64, learning_rate=1e-3):
        super(SimpleModel, self).__init__()  # noqa: UP008 (tutorial code)
        self.save_hyperparameters()

        self.model = nn.Sequential(
            nn.Linear(input_dim, self.hparams.hidden_size),
            nn.ReLU(),
            nn.Linear(self.hparams.hidden_size, 2),  # 2 output classes
        )

        self.criterion = nn.CrossEntropyLoss()

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


# Step 4: Define the training function for Ray Tune
def train_tune(config, num_epochs=10):
    model = SimpleModel(hidden_size=config["hidden_size"], learning_rate=config["learning_rate"])
    data_module = SyntheticDataModule()

    trainer = pl.Trainer(
        max_epochs=num_epochs,
        callbacks=[TuneReportCallback({"loss": "train_loss"}, on="train_end")],
        enable_progress_bar=False,
        log_every_n_steps=10,
    )
    trainer.fit(model, datamodule=data_module)


# Step 5: Set up Ray Tune's hyperparameter search space and run the tuning process
search_space = {
    "hidden_size": tune.choice([32, 64, 128]),
    "learning_rate": tune.loguniform(1e-4, 1e-2),
}

scheduler = ASHAScheduler(
    max_t=10,  # Max number of epochs per trial
    grace_period=1,  # Early stopping grace period
    reduction_factor=2,  # Halve the number of trials after each step
)


def epochs_trained(trial_dir: Path) -> int:
    """Epochs a trial trained, from the name of Lightning's last checkpoint file."""
    epochs = [
        int(m.group(1)) + 1 for m in map(_EPOCH.search, map(str, trial_dir.rglob("*.ckpt"))) if m
    ]
    return max(epochs, default=0)


_EPOCH = re.compile(r"epoch=(\d+)-step=\d+\.ckpt$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray")
    parser.add_argument("--storage-path", default=None, help="default: a temporary directory")
    parser.add_argument("--json-out", default=None, help="write a JSON summary here")
    args = parser.parse_args()
    storage = Path(args.storage_path or tempfile.mkdtemp(prefix="tune-tutorial-")).resolve()
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False)
    start = time.perf_counter()
    # Run the hyperparameter tuning process with Ray Tune
    analysis = tune.run(
        tune.with_parameters(train_tune, num_epochs=10),
        resources_per_trial={"cpu": 1, "gpu": 0},
        config=search_space,
        metric="loss",
        mode="min",
        num_samples=10,
        scheduler=scheduler,
        storage_path=str(storage),
    )
    wall_s = time.perf_counter() - start

    # Print the best hyperparameters found
    print("Best hyperparameters found were: ", analysis.best_config)

    trials = [
        {
            "trial_id": t.trial_id,
            "config": {k: t.config[k] for k in search_space},
            "loss": t.last_result.get("loss"),
            "epochs": epochs_trained(Path(t.storage.trial_working_directory)),
            "reports": t.last_result.get("training_iteration"),
        }
        for t in analysis.trials
    ]
    summary = {
        # What this run had, as it ran: its trials, the most epochs a trial
        # trained (every trial trains all of them: nothing can stop one early),
        # and the rows of the data set.
        "budget": {
            "num_samples": len(trials),
            "max_t": max(t["epochs"] for t in trials),
            "samples": len(generate_synthetic_data()[1]),
        },
        "wall_s": wall_s,
        "best_config": analysis.best_config,
        "best_loss": analysis.best_result["loss"],
        "trials": trials,
        "total_epochs": sum(t["epochs"] for t in trials),
        "storage_path": str(storage),
    }
    print(f"Tune wall time: {wall_s:.1f} s; epochs trained: {summary['total_epochs']}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=2, default=str))
    ray.shutdown()


if __name__ == "__main__":
    main()
