"""Every tag name gitruns or MLflow sets on its own, named once.

Tags a user sets are theirs; these are the ones the system writes or reads back:
MLflow's (``mlflow.*``, which MLflow's API shows on every run, and autolog's
estimator tags), gitruns' own (``gitruns.*``) and a hyperopt search's
(``hyperopt.*``). Nothing here imports anything: every layer may read it.
"""

from __future__ import annotations

# -- MLflow's: what a run's record holds in fields, shown as tags ----------------------
RUN_NAME = "mlflow.runName"
USER = "mlflow.user"
NOTE = "mlflow.note.content"  # a run's or experiment's description
PARENT_RUN_ID = "mlflow.parentRunId"
SOURCE_TYPE = "mlflow.source.type"
SOURCE_NAME = "mlflow.source.name"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
DATASET_CONTEXT = "mlflow.data.context"  # a dataset input's: training, validation…
MLFLOW_PREFIX = "mlflow."  # tags a page shows apart from the user's own
IS_PROMPT = "mlflow.prompt.is_prompt"  # MLflow's model searches exclude prompts by it

# Derived from a record's fields; a record never stores them as tags.
FROM_RECORD = (RUN_NAME, USER, NOTE, PARENT_RUN_ID)

# -- autolog's: what model family a run trained ----------------------------------------
ESTIMATOR_NAME = "estimator_name"
ESTIMATOR_CLASS = "estimator_class"
# Tags naming a run's model family, most specific first (autolog's class last).
MODEL_KIND = ("model", "model_family", ESTIMATOR_NAME, ESTIMATOR_CLASS)

# -- gitruns' own ----------------------------------------------------------------------
GIT_DIRTY = "gitruns.git.dirty"  # the run-context provider's, on runs in other stores
GIT_DIFF = "gitruns.git.diff"  # likewise: the redacted diff, cut to MLflow's length
REPRODUCES = "gitruns.reproduces"  # on a reproduction: the id of the run it reproduces
REPRODUCTION_VERDICT = "gitruns.reproduction"  # "reproduced" or "differs"
EXPORTED_ID = "gitruns.run_id"  # on an MLflow run gitruns exported: its gitruns id
IMPORTED_FROM = "gitruns.imported_from"  # on a gitruns run an import made: "mlflow"
LOGGED_MODEL_PREFIX = "gitruns.model."  # + a logged model's id part: its tags
LOGGED_MODEL_DELETED = "gitruns.deleted"  # a run's model's own tag (under the prefix): deleted
TRIAL_HOST = "gitruns.trial.host"  # a Spark trial's executor, as a host token
TRIAL_ARTIFACTS_LEFT_OUT = "gitruns.trial.artifacts_left_out"

# -- a hyperopt search's ---------------------------------------------------------------
HYPEROPT_ALGO = "hyperopt.algo"
HYPEROPT_TRIAL = "hyperopt.trial"
HYPEROPT_BEST_TRIAL = "hyperopt.best_trial"
HYPEROPT_BEST_RUN_ID = "hyperopt.best_run_id"
