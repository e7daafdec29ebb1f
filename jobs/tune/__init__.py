"""Ray Tune + PyTorch Lightning: an ASHA search that stops poor trials early.

The tutorial's example on the current Tuner API. Every trial trains the tutorial's
MLP on one seeded synthetic classification set and reports its validation loss and
accuracy to Tune after every epoch, so the ASHA scheduler can compare trials at
its rungs (epochs 1, 2, 4, 8 for grace period 1 and reduction factor 2) and stop
the ones that fall behind. The best configuration is chosen on validation loss.

Reproducible: the seed fixes the data, the train/validation split, the sampled
configurations and each trial's initial weights and batch order.

The package: ``data`` (the synthetic set and its batches), ``model`` (what a
trial runs), ``search`` (the Tuner), ``stopping`` (SIGTERM and Ctrl-C during a
search), ``results`` (trial table, best, checks, report) and ``workload``
(``ray101 run tune`` and ``python -m jobs.tune``).
"""
