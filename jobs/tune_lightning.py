"""Ray Tune + PyTorch Lightning: an ASHA search that stops poor trials early.

The tutorial's example on the current Tuner API. Every trial trains the tutorial's
MLP on one seeded synthetic classification set and reports its validation loss and
accuracy to Tune after every epoch, so the ASHA scheduler can compare trials at
its rungs (epochs 1, 2, 4, 8 for grace period 1 and reduction factor 2) and stop
the ones that fall behind. The best configuration is chosen on validation loss.

Reproducible: the seed fixes the data, the train/validation split, the sampled
configurations and each trial's initial weights and batch order.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import io
import json
import logging
import os
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import ray
import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.basic_variant import BasicVariantGenerator
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from jobs import flags, runner
from jobs.cluster import Connection
from jobs.errors import UsageError
from jobs.report import JobResult

NAME = "tune"

log = logging.getLogger(__name__)

STORAGE_ENV = "RAY101_STORAGE_PATH"
DEFAULT_STORAGE = Path("results") / "tune"

HIDDEN_SIZES = (32, 64, 128)
LEARNING_RATE_RANGE = (1e-4, 1e-2)
SEARCH_SPACE = {
    "hidden_size": tune.choice(list(HIDDEN_SIZES)),
    "learning_rate": tune.loguniform(*LEARNING_RATE_RANGE),
}
METRIC, MODE = "val_loss", "min"
VALIDATION_FRACTION = 0.2
CHECKPOINT_FILE = "model.pt"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataSpec:
    samples: int = 1000
    features: int = 20
    informative: int = 10
    classes: int = 2
    seed: int = 42


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


def check_data_spec(spec: DataSpec) -> None:
    """make_classification's own constraints, as one-line user errors."""
    if spec.informative > spec.features:
        raise UsageError(
            f"--informative ({spec.informative}) cannot exceed --features ({spec.features})"
        )
    if spec.classes < 2:
        raise UsageError(f"--classes must be at least 2, got {spec.classes}")
    # Two clusters per class must fit in the 2**informative hypercube corners.
    if spec.classes * 2 > 2**spec.informative:
        raise UsageError(
            f"--classes {spec.classes} needs --informative >= {spec.classes.bit_length()}"
        )
    val = round(spec.samples * VALIDATION_FRACTION)
    if val < spec.classes or spec.samples - val < spec.classes:
        raise UsageError(f"--samples {spec.samples} is too few to split {spec.classes} classes")


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


# -------------------------------------------------------------------------- model


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
        metrics.update(
            epoch=trainer.current_epoch + 1,
            gpu=int(self.accelerator == "cuda"),
            node_id=ray.get_runtime_context().get_node_id(),
        )
        with tempfile.TemporaryDirectory() as tmp:
            state = {k: v.cpu() for k, v in pl_module.state_dict().items()}
            torch.save(
                {"state_dict": state, "hparams": dict(pl_module.hparams)},
                os.path.join(tmp, CHECKPOINT_FILE),
            )
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def _quiet_lightning() -> None:
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


def train_trial(
    config: dict[str, Any], split: Split, max_epochs: int, batch_size: int, seed: int
) -> None:
    """One Tune trial: train the MLP for up to ``max_epochs``, reporting every epoch."""
    _quiet_lightning()
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    # Ray sets CUDA_VISIBLE_DEVICES to the trial's own GPUs, if it was given any.
    accelerator = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    model = MLP(split.features, config["hidden_size"], config["learning_rate"], split.classes)
    trainer = build_trainer(max_epochs, accelerator, [ReportEachEpoch(accelerator)])
    trainer.fit(model, datamodule=ClassificationData(split, batch_size, seed))


def evaluate_config(
    config: dict[str, Any], split: Split, max_epochs: int, batch_size: int = 32, seed: int = 42
) -> dict[str, float]:
    """Train one config outside Tune and return its final validation metrics.

    Used to score a configuration chosen elsewhere (the tutorial's pick) on the
    same data, split and seed as the trials here.
    """
    _quiet_lightning()
    torch.manual_seed(seed)
    model = MLP(split.features, config["hidden_size"], config["learning_rate"], split.classes)
    trainer = build_trainer(max_epochs, "cpu", [])
    data = ClassificationData(split, batch_size, seed)
    trainer.fit(model, datamodule=data)
    (metrics,) = trainer.validate(model, datamodule=data, verbose=False)
    return {"val_loss": float(metrics["val_loss"]), "val_acc": float(metrics["val_acc"])}


def load_model(checkpoint_dir: str | Path) -> MLP:
    """The model saved in one of this workload's checkpoints (a local directory)."""
    saved = torch.load(Path(checkpoint_dir) / CHECKPOINT_FILE, map_location="cpu")
    model = MLP(**saved["hparams"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


# --------------------------------------------------------------------------- tune


def make_search_alg(seed: int, max_concurrent: int = 0) -> BasicVariantGenerator:
    """Random search whose samples depend only on the seed.

    The concurrency limit lives here: Tune ignores TuneConfig.max_concurrent_trials
    when the search algorithm is a BasicVariantGenerator passed in explicitly.
    """
    return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent)


def sample_configs(num_samples: int, seed: int) -> list[dict[str, Any]]:
    """The configurations a run with this seed tries, in trial order, without training."""
    search = make_search_alg(seed)
    search.add_configurations(
        {"sample": {"run": _no_training, "config": SEARCH_SPACE, "num_samples": num_samples}}
    )
    configs = []
    while (trial := search.next_trial()) is not None:
        configs.append({k: trial.config[k] for k in SEARCH_SPACE})
    return configs


def _no_training(config: dict[str, Any]) -> None:
    """Stand-in trainable for :func:`sample_configs`: it is never run."""


def resolve_storage(flag: str | None) -> str:
    """Flag, then $RAY101_STORAGE_PATH, then ./results/tune. URIs pass through."""
    path = flag or os.environ.get(STORAGE_ENV) or str(DEFAULT_STORAGE)
    if "://" in path:
        return path
    # Ray wants an absolute path; on a multi-node cluster it must be a shared mount.
    return str(Path(path).expanduser().resolve())


def trial_resources(cpus: float, gpus: float) -> tune.PlacementGroupFactory:
    # One bundle per trial. Ray places each new bundle on the node with the most
    # free room, so concurrent trials spread over the nodes of a cluster rather
    # than filling one first (checked on a two-node cluster; for a one-bundle
    # group PACK placed them the same way). SPREAD states that intent, and would
    # also keep a trial's own bundles apart if it ever had more than one.
    bundle = {"CPU": cpus, **({"GPU": gpus} if gpus else {})}
    return tune.PlacementGroupFactory([bundle], strategy="SPREAD")


def check_resources(args: argparse.Namespace, connection: Connection) -> None:
    """A trial that can never fit would leave Tune waiting forever on a fixed local Ray."""
    if not connection.fixed_size:
        return  # a cluster may autoscale to fit; Tune warns while it waits
    have = ray.cluster_resources()
    for name, want in (("CPU", args.cpus_per_trial), ("GPU", args.gpus_per_trial)):
        if want and have.get(name, 0) < want:
            flag = f"--{name.lower()}s-per-trial"
            raise UsageError(f"{flag} {want:g}: this Ray has {have.get(name, 0):g} {name}s")


def build_tuner(args: argparse.Namespace, split: Split, storage_path: str, name: str) -> tune.Tuner:
    trainable = tune.with_parameters(
        train_trial,
        split=split,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    return tune.Tuner(
        tune.with_resources(trainable, trial_resources(args.cpus_per_trial, args.gpus_per_trial)),
        param_space=SEARCH_SPACE,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode=MODE,
            num_samples=args.num_samples,
            search_alg=make_search_alg(args.seed, args.max_concurrent_trials),
            scheduler=ASHAScheduler(
                time_attr="training_iteration",  # one report per epoch: iterations are epochs
                max_t=args.max_epochs,
                grace_period=args.grace_period,
                reduction_factor=args.reduction_factor,
            ),
            # A new trial reuses a finished trial's worker process: starting one
            # and importing torch and Lightning takes seconds, longer than
            # training this model for an epoch.
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=args.keep_checkpoints,
                checkpoint_score_attribute=METRIC,
                checkpoint_score_order=MODE,
            ),
            verbose=0,
        ),
    )


# ------------------------------------------------------------------------ results


def trial_rows(result_grid: tune.ResultGrid, max_epochs: int) -> list[dict[str, Any]]:
    """One row per trial: its config, every epoch's metrics, and how far it got."""
    rows = []
    for result in result_grid:
        if result.error:
            raise RuntimeError(f"a trial failed: {result.error}")
        df = result.metrics_dataframe
        if df is None or df.empty:
            raise RuntimeError(f"trial {result.metrics.get('trial_id')} reported no epoch")
        history = [
            {"epoch": int(r.epoch), "val_loss": float(r.val_loss), "val_acc": float(r.val_acc)}
            for r in df.sort_values("training_iteration").itertuples()
        ]
        best = min(history, key=lambda h: h["val_loss"])
        rows.append(
            {
                "trial_id": result.metrics["trial_id"],
                "config": {k: result.config[k] for k in SEARCH_SPACE},
                "epochs": len(history),
                "stopped_early": len(history) < max_epochs,
                "val_loss": history[-1]["val_loss"],
                "val_acc": history[-1]["val_acc"],
                "best_epoch": best["epoch"],
                "best_val_loss": best["val_loss"],
                "best_val_acc": best["val_acc"],
                "accelerator": "cuda" if result.metrics.get("gpu") else "cpu",
                "node_id": result.metrics.get("node_id"),
                "history": history,
                "checkpoint": _uri(result, result.get_best_checkpoint(METRIC, MODE)),
            }
        )
    return sorted(rows, key=lambda r: r["trial_id"])


def _uri(result, checkpoint) -> str | None:
    return None if checkpoint is None else as_uri(result.filesystem, checkpoint.path)


def as_uri(fs, path: str) -> str:
    """Ray hands back paths inside a pyarrow filesystem; S3's lack the scheme."""
    kind = fs.type_name
    return path if kind == "local" else f"{kind}://{path}"


def best_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The single best epoch of any trial, by validation loss (its checkpoint is kept)."""
    row = min(rows, key=lambda r: r["best_val_loss"])
    return {
        "config": row["config"],
        "val_loss": row["best_val_loss"],
        "val_acc": row["best_val_acc"],
        "epoch": row["best_epoch"],
        "trial_id": row["trial_id"],
        "checkpoint": row["checkpoint"],
    }


def write_results(fs, experiment_path: str, summary: dict[str, Any], rows: list[dict]) -> list[str]:
    """results.json and results.csv beside the trials, through Tune's own filesystem
    (local, a shared mount or S3 alike)."""
    table = io.StringIO()
    fields = ["trial_id", "hidden_size", "learning_rate", "epochs", "stopped_early",
              "val_loss", "val_acc", "best_epoch", "best_val_loss", "best_val_acc",
              "accelerator", "node_id"]  # fmt: skip
    writer = csv.DictWriter(table, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **row["config"]})
    written = []
    for file_name, text in (
        ("results.json", json.dumps(summary, indent=2, default=str)),
        ("results.csv", table.getvalue()),
    ):
        path = f"{experiment_path.rstrip('/')}/{file_name}"
        with fs.open_output_stream(path) as out:
            out.write(text.encode())
        written.append(as_uri(fs, path))
    return written


def format_report(summary: dict[str, Any], rows: list[dict], wall_s: float) -> list[str]:
    header = f"{'trial':<13} {'hidden':>6} {'lr':>9} {'epochs':>6} {'val_loss':>8} {'val_acc':>7}  status"
    lines = ["Trials (last reported epoch):", header, "-" * len(header)]
    for r in rows:
        status = "stopped by ASHA" if r["stopped_early"] else "ran to max_t"
        lines.append(
            f"{r['trial_id']:<13} {r['config']['hidden_size']:>6} "
            f"{r['config']['learning_rate']:>9.2e} {r['epochs']:>6} "
            f"{r['val_loss']:>8.4f} {r['val_acc']:>7.3f}  {status}"
        )
    best, total, budget = summary["best"], summary["total_epochs"], summary["budget_epochs"]
    stopped = sum(r["stopped_early"] for r in rows)
    lines += [
        f"Best config: hidden_size={best['config']['hidden_size']}, "
        f"learning_rate={best['config']['learning_rate']:.3g} "
        f"(trial {best['trial_id']}, epoch {best['epoch']}): "
        f"val_loss {best['val_loss']:.4f}, val_acc {best['val_acc']:.3f}",
        f"Epochs trained: {total} of {budget} ({summary['num_samples']} samples x max_t "
        f"{summary['max_t']}); ASHA stopped {stopped} of {len(rows)} trials early, "
        f"saving {1 - total / budget:.0%} of the epochs",
        f"Trials ran on {len({r['node_id'] for r in rows})} node(s), "
        f"{', '.join(sorted({r['accelerator'] for r in rows}))}",
        f"Wall time: {wall_s:.1f} s",
        f"Results: {summary['experiment_path']}",
    ]
    return lines


# ---------------------------------------------------------------------- the job


def _non_negative_float(text: str) -> float:
    try:
        if float(text) == 0:
            return 0.0
    except ValueError:
        pass  # positive_float words the error
    return flags.positive_float(text)


def _non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else flags.positive_int(text)


def _above_one(text: str) -> float:
    value = flags.positive_float(text)
    if value <= 1:
        raise argparse.ArgumentTypeError(f"must be greater than 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pint = flags.positive_int
    data = parser.add_argument_group("data (sklearn make_classification)")
    data.add_argument("--samples", type=pint, default=1000, help="rows (default 1000)")
    data.add_argument("--features", type=pint, default=20, help="features (default 20)")
    data.add_argument(
        "--informative", type=pint, default=10, help="informative features (default 10)"
    )
    data.add_argument("--classes", type=pint, default=2, help="classes (default 2)")
    data.add_argument(
        "--seed",
        type=_non_negative_int,
        default=42,
        help="seeds data, split, sampled configs, weights (default 42)",
    )
    search = parser.add_argument_group("search (ASHA)")
    search.add_argument("--num-samples", type=pint, default=10, help="configs to try (default 10)")
    search.add_argument(
        "--max-epochs",
        type=pint,
        default=10,
        help="epochs per trial at most, ASHA's max_t (default 10)",
    )
    search.add_argument(
        "--grace-period",
        type=pint,
        default=1,
        help="epochs before ASHA may stop a trial (default 1)",
    )
    search.add_argument(
        "--reduction-factor",
        type=_above_one,
        default=2.0,
        help="ASHA keeps 1/this of the trials at each rung (default 2)",
    )
    search.add_argument(
        "--batch-size", type=pint, default=32, help="training batch size (default 32)"
    )
    search.add_argument(
        "--keep-checkpoints",
        type=pint,
        default=2,
        help="best checkpoints kept per trial (default 2)",
    )
    res = parser.add_argument_group("resources and storage")
    res.add_argument(
        "--cpus-per-trial",
        type=flags.positive_float,
        default=1.0,
        help="CPUs per trial (default 1)",
    )
    res.add_argument(
        "--gpus-per-trial",
        type=_non_negative_float,
        default=0.0,
        help="GPUs per trial; a trial with a GPU trains on cuda (default 0)",
    )
    res.add_argument(
        "--max-concurrent-trials",
        type=_non_negative_int,
        default=0,
        help="trials running at once; 0: as many as the resources fit (default 0)",
    )
    res.add_argument(
        "--storage-path",
        default=None,
        help=f"where trials, checkpoints and results go: a directory (shared by every node "
        f"of a multi-node cluster) or s3://bucket/prefix (default: ${STORAGE_ENV}, "
        f"else {DEFAULT_STORAGE}/)",
    )
    res.add_argument("--name", default=None, help="experiment name (default: tune-<time>-<id>)")


def run(args: argparse.Namespace, ctx: runner.Context) -> JobResult:
    start = time.perf_counter()
    spec = DataSpec(args.samples, args.features, args.informative, args.classes, args.seed)
    check_data_spec(spec)
    if args.grace_period > args.max_epochs:
        raise UsageError(
            f"--grace-period ({args.grace_period}) cannot exceed --max-epochs ({args.max_epochs})"
        )
    check_resources(args, ctx.connection)
    storage_path = resolve_storage(args.storage_path)
    name = args.name or f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"

    split = make_data(spec)
    tuner = build_tuner(args, split, storage_path, name)
    log.info("experiment %s under %s", name, storage_path)
    # Tune snapshots its experiment state each time a trial has saved
    # num_to_keep checkpoints, and warns when that happens often. Here it does by
    # design (a few-KB checkpoint every epoch) and a snapshot is a small file.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    fit_start = time.perf_counter()
    # Tune prints its progress (and, whatever the verbosity, an experiment
    # header) to stdout; stdout belongs to the report and to --json.
    with contextlib.redirect_stdout(sys.stderr):
        result_grid = tuner.fit()
    fit_s = time.perf_counter() - fit_start

    rows = trial_rows(result_grid, args.max_epochs)
    total = sum(r["epochs"] for r in rows)
    budget = args.num_samples * args.max_epochs
    summary = {
        "best": best_of(rows),
        "total_epochs": total,
        "budget_epochs": budget,
        "num_samples": args.num_samples,
        "max_t": args.max_epochs,
        "grace_period": args.grace_period,
        "reduction_factor": args.reduction_factor,
        "seed": args.seed,
        "data": {
            "samples": spec.samples,
            "features": spec.features,
            "informative": spec.informative,
            "classes": spec.classes,
            "train_rows": len(split.y_train),
            "val_rows": len(split.y_val),
        },
        "experiment_path": as_uri(result_grid.filesystem, result_grid.experiment_path),
        "trials": rows,
    }
    files = write_results(result_grid.filesystem, result_grid.experiment_path, summary, rows)
    wall_s = time.perf_counter() - start
    details = {
        **{k: v for k, v in summary.items() if k != "best"},
        "epochs_per_trial": {r["trial_id"]: r["epochs"] for r in rows},
        "stopped_early": sum(r["stopped_early"] for r in rows),
        "nodes": len({r["node_id"] for r in rows}),
        "accelerators": sorted({r["accelerator"] for r in rows}),
        "results_files": files,
    }
    result = JobResult(
        name=NAME,
        ok=True,
        result=summary["best"],
        timings={"wall_s": wall_s, "fit_s": fit_s},
        details=details,
        lines=format_report(summary, rows, wall_s),
    )
    return result


def plot(result: JobResult):
    """``--out``: epochs trained against the budget."""
    from jobs import bench

    d = result.details
    return bench.bar_figure(
        {"epochs trained": d["total_epochs"], "budget (samples x max_t)": d["budget_epochs"]},
        ylabel="epochs",
        title=f"Tune + ASHA: {d['total_epochs']} of {d['budget_epochs']} epochs, "
        f"{result.timings['wall_s']:.1f} s",
    )


def main(argv=None) -> int:
    # Under `python -m jobs.tune_lightning` this file runs as `__main__`, and Ray
    # would pickle the trial function and its classes by value. The importable
    # module is pickled by reference instead, and every worker can import it.
    return runner.main_for(importlib.import_module("jobs.tune_lightning"), argv)


if __name__ == "__main__":
    raise SystemExit(main())
