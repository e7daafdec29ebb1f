"""The search: space, scheduler, resources and storage of the Tuner every run builds."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.basic_variant import BasicVariantGenerator

from jobs.runtime.connect import Connection
from jobs.runtime.errors import UsageError
from jobs.tune.data import Split
from jobs.tune.trial import train_trial

HIDDEN_SIZES = (32, 64, 128)
LEARNING_RATE_RANGE = (1e-4, 1e-2)
SEARCH_SPACE = {
    "hidden_size": tune.choice(list(HIDDEN_SIZES)),
    "learning_rate": tune.loguniform(*LEARNING_RATE_RANGE),
}
METRIC, MODE = "val_loss", "min"

STORAGE_ENV = "RAY101_STORAGE_PATH"
DEFAULT_STORAGE = Path("results") / "tune"


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
    """A trial that can never fit would leave Tune waiting forever on a fixed-size Ray."""
    if not connection.fixed_size:
        return  # a cluster may autoscale to fit; Tune warns while it waits
    have = ray.cluster_resources()
    for name, want in (("CPU", args.cpus_per_trial), ("GPU", args.gpus_per_trial)):
        if want and have.get(name, 0) < want:
            flag = f"--{name.lower()}s-per-trial"
            raise UsageError(f"{flag} {want:g}: this Ray has {have.get(name, 0):g} {name}s")


def build_tuner(
    args: argparse.Namespace,
    split: Split,
    storage_path: str,
    name: str,
    stop: tune.Stopper | None = None,
) -> tune.Tuner:
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
            stop=stop,
            # progress.csv and result.json in every trial's folder, as Tune's
            # defaults write them; TensorBoard files only on request (jobs/tune/workload.py).
            callbacks=[CSVLoggerCallback(), JsonLoggerCallback()],
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=args.keep_checkpoints,
                checkpoint_score_attribute=METRIC,
                checkpoint_score_order=MODE,
            ),
            verbose=0,
        ),
    )
