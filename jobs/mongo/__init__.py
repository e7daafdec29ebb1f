"""MongoDB aggregations on sample_mflix: sequential, actors, a warm pool, partitioned.

The tutorial ran two ``{"$match": {}}`` scans one after another (0.77 s) and
in two freshly started Aggregator actors (1.44 s), and concluded that Ray's
overhead lost. This workload measures four designs side by side on the same
pipelines and checks that they all return the same results:

- ``sequential``: the driver runs every pipeline in turn on one client;
- ``actors``: the tutorial's design, one new Aggregator actor per pipeline,
  actor start-up included in the time;
- ``pool``: a warm pool of Aggregator actors, start-up paid once and reported
  on its own line, pipelines handed to whichever actor is free;
- ``partitioned``: the heaviest pipeline (the movies scan) split into
  disjoint ``year`` ranges on the pool and merged in the driver.

Every mode runs the same code per pipeline (:meth:`Aggregator.run`): it reads
raw BSON, keeps the rows of small analytical results and a count plus an
order-aware or order-free checksum of everything, and returns that through
the object store, so 60,000 documents never need to cross it.

The package: ``workload`` (``ray101 run mongo``, ``python -m jobs.mongo``);
its parts ``pipelines`` (what runs, the write-stage refusal), ``pool`` (the
Aggregator actor), ``partition``, ``checksum``, ``benchmark``, ``report``;
``client``, ``data``, ``load``, ``server`` and ``standin`` are shared with
the loader, ``ray101 data load`` (``jobs.commands.data``).
"""
