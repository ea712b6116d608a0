"""``MlflowClient``: MLflow's lower-level client, over a ``runs/`` folder.

Every method takes ids rather than relying on an active run, as MLflow's
does; code and course notebooks written against ``mlflow.tracking.MlflowClient``
work unchanged. Runs are found by id or any unique id prefix.

Example::

    from gitruns import MlflowClient
    from gitruns.entities import ViewType

    client = MlflowClient()
    experiment = client.get_experiment_by_name("nyc-taxi-experiment")
    best = client.search_runs(
        experiment_ids=experiment.experiment_id,
        filter_string="metrics.rmse < 7",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=5,
        order_by=["metrics.rmse ASC"],
    )
"""

from __future__ import annotations

from gitruns.client.registry import RegistryMethods
from gitruns.client.tracking import SEARCH_MAX_RESULTS_DEFAULT, TrackingClient

__all__ = ["SEARCH_MAX_RESULTS_DEFAULT", "MlflowClient"]


class MlflowClient(TrackingClient, RegistryMethods):
    """Experiments, runs, artifacts and the model registry by id, in the runs folder of
    ``tracking_uri``.

    ``tracking_uri`` works as for :func:`gitruns.set_tracking_uri`; by default the
    client follows the fluent API's (``runs/`` at the top of the repository). Every call
    goes through the one door, :class:`gitruns.workspace.Workspace`.
    """
