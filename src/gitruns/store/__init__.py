"""The runs folder on disk, and nothing MLflow-shaped.

- :mod:`~gitruns.store.record`: the on-disk contract's names, states and limits, and
  ``experiment.yaml``;
- :mod:`~gitruns.store.run_record`: ``run.yaml``, read, checked and merged;
- :mod:`~gitruns.store.folder`: a ``runs/`` tree, its experiments and run folders;
- :mod:`~gitruns.store.writer`: a live run, locked while its process writes it;
- :mod:`~gitruns.store.history`: metric histories;
- :mod:`~gitruns.store.index`: the search index cache under ``runs/.index``;
- :mod:`~gitruns.store.capture` and :mod:`~gitruns.store.environments`: the commit, diff
  and packages a run records;
- :mod:`~gitruns.store.names`: every id and name check, so no field can name a path;
- :mod:`~gitruns.store.migrate`, :mod:`~gitruns.store.check`, :mod:`~gitruns.store.repo`:
  schema upgrades, ``gitruns check``, committing runs.

Surfaces never open the folder themselves: they go through :class:`gitruns.workspace.Workspace`.
"""
