"""Autologging and hyperopt, with real XGBoost, scikit-learn and hyperopt."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
import yaml
from hyperopt import STATUS_OK, Trials, hp, tpe
from hyperopt import fmin as plain_fmin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import gitruns as mlflow
from gitruns import MlflowClient
from gitruns.exceptions import InvalidValue
from gitruns.hyperopt import fmin
from gitruns.store.history import read_histories


@pytest.fixture(autouse=True)
def autolog_off():
    yield
    mlflow.autolog(disable=True)


@pytest.fixture()
def matrices():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    y = x @ np.array([1.0, 2.0, 0.5, 0.0]) + rng.normal(0, 0.1, 400)
    return xgb.DMatrix(x[:300], label=y[:300]), xgb.DMatrix(x[300:], label=y[300:]), x, y


def artifacts(run) -> Path:
    return Path(run.info.artifact_uri.removeprefix("file://"))


def test_xgboost_autolog_records_params_histories_importance_and_model(repo: Path, matrices):
    train, valid, _, _ = matrices
    mlflow.xgboost.autolog()
    with mlflow.start_run() as run:
        booster = xgb.train(
            {"max_depth": 3, "eta": 0.3, "eval_metric": ["rmse", "mae"]},
            train,
            num_boost_round=50,
            evals=[(train, "train"), (valid, "validation")],
            early_stopping_rounds=5,
            verbose_eval=False,
        )
    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.params["max_depth"] == "3" and logged.data.params["num_boost_round"] == "50"
    assert {
        "train-rmse",
        "validation-rmse",
        "validation-mae",
        "best_iteration",
        "training_time",
    } <= set(logged.data.metrics)
    history = read_histories(artifacts(run).parent, 2)["validation-rmse"]
    assert [step for _, step, _ in history] == list(range(booster.num_boosted_rounds()))
    assert logged.data.metrics["best_iteration"] == booster.best_iteration
    importance = json.loads((artifacts(run) / "feature_importance_weight.json").read_text())
    assert set(importance) <= {"f0", "f1", "f2", "f3"} and importance
    assert (artifacts(run) / "feature_importance_weight.png").read_bytes()[:4] == b"\x89PNG"
    reloaded = mlflow.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(reloaded.predict(valid), booster.predict(valid))


def test_xgboost_autolog_starts_a_run_when_none_is_active_and_can_be_disabled(repo: Path, matrices):
    train, _, x, y = matrices
    mlflow.autolog()
    xgb.XGBRegressor(n_estimators=10).fit(x, y, eval_set=[(x, y)], verbose=False)
    run = mlflow.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["estimator_name"] == "XGBRegressor"
    assert "validation_0-rmse" in run.data.metrics
    assert (artifacts(run) / "model" / "MLmodel").exists()
    mlflow.xgboost.autolog(disable=True)
    before = len(MlflowClient().search_runs("default"))
    xgb.train({}, train, num_boost_round=2)
    assert len(MlflowClient().search_runs("default")) == before


def test_sklearn_autolog_logs_the_outermost_fit_once(repo: Path, matrices):
    _, _, x, y = matrices
    mlflow.sklearn.autolog()
    make_pipeline(StandardScaler(), Ridge(alpha=2.0)).fit(x, y)
    runs = MlflowClient().search_runs("default")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.tags["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert run.data.params["ridge__alpha"] == "2.0"
    assert run.data.metrics["training_r2_score"] > 0.9
    assert {"training_root_mean_squared_error", "training_mean_absolute_error"} <= set(
        run.data.metrics
    )
    model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(model.predict(x[:5]), model.predict(x[:5]))

    with mlflow.start_run(run_name="classifier") as active:
        LogisticRegression().fit(x, (y > 0).astype(int))
    logged = mlflow.get_run(active.info.run_id)
    assert logged.data.metrics["training_accuracy_score"] > 0.8
    mlflow.sklearn.autolog(disable=True)
    Ridge().fit(x, y)
    assert len(MlflowClient().search_runs("default")) == 2


def test_the_course_pattern_works_with_plain_hyperopt(repo: Path, matrices):
    train, valid, _, _ = matrices

    def objective(params):
        with mlflow.start_run():
            mlflow.set_tag("model", "xgboost")
            mlflow.log_params(params)
            booster = xgb.train(
                params=params,
                dtrain=train,
                num_boost_round=20,
                evals=[(valid, "validation")],
                early_stopping_rounds=5,
                verbose_eval=False,
            )
            rmse = float(np.sqrt(np.mean((booster.predict(valid) - valid.get_label()) ** 2)))
            mlflow.log_metric("rmse", rmse)
        return {"loss": rmse, "status": STATUS_OK}

    space = {
        "max_depth": hp.choice("max_depth", [2, 3, 4]),
        "learning_rate": hp.loguniform("lr", -3, 0),
    }
    plain_fmin(
        objective,
        space,
        algo=tpe.suggest,
        max_evals=4,
        trials=Trials(),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    runs = MlflowClient().search_runs("default", "tags.model = 'xgboost'")
    assert len(runs) == 4 and all("rmse" in run.data.metrics for run in runs)


def test_gitruns_hyperopt_makes_trials_children_of_one_parent(repo: Path, matrices):
    train, valid, _, _ = matrices
    mlflow.set_experiment("search")
    seen = []

    def objective(params):
        with mlflow.start_run():  # the course's objective opens its own run: it gets the trial's
            booster = xgb.train({"max_depth": int(params["max_depth"])}, train, num_boost_round=10)
            rmse = float(np.sqrt(np.mean((booster.predict(valid) - valid.get_label()) ** 2)))
            mlflow.log_metric("rmse", rmse)
            seen.append(mlflow.active_run().info.run_id)
        return {"loss": rmse, "status": STATUS_OK}

    progress = []
    best = fmin(
        objective,
        {"max_depth": hp.quniform("max_depth", 2, 6, 1)},
        algo=tpe.suggest,
        max_evals=5,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
        on_trial=lambda number, total, loss: progress.append((number, total)),
    )
    assert progress == [(n, 5) for n in range(1, 6)]
    client = MlflowClient()
    runs = client.search_runs("search")
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    assert len(parents) == 1 and len(children) == 5
    parent = parents[0]
    assert {child.data.tags["mlflow.parentRunId"] for child in children} == {parent.info.run_id}
    assert {child.info.run_id for child in children} == set(seen)
    assert all(
        "max_depth" in child.data.params and "loss" in child.data.metrics for child in children
    )
    tagged = [child for child in children if child.data.tags.get("hyperopt.best_trial") == "true"]
    assert len(tagged) == 1
    assert tagged[0].data.metrics["loss"] == min(child.data.metrics["loss"] for child in children)
    assert parent.data.tags["hyperopt.best_run_id"] == tagged[0].info.run_id
    assert parent.data.metrics["best_loss"] == tagged[0].data.metrics["loss"]
    assert parent.data.params["best.max_depth"] == str(best["max_depth"])
    assert "max_depth" in (artifacts(parent) / "search_space.txt").read_text()
    assert parent.info.status == "FINISHED" and mlflow.active_run() is None


def test_sklearn_autolog_covers_estimators_that_inherit_fit(repo: Path, matrices):
    # As course homework does: a random forest, a lasso, a grid search, then a report.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Lasso
    from sklearn.metrics import classification_report
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    _, _, x, y = matrices
    mlflow.sklearn.autolog()
    for estimator in (RandomForestRegressor(n_estimators=5, max_depth=3), Lasso(alpha=0.1)):
        with mlflow.start_run() as run:
            estimator.fit(x, y)
        logged = mlflow.get_run(run.info.run_id)
        assert logged.data.tags["estimator_name"] == type(estimator).__name__
        assert logged.data.metrics["training_r2_score"] > 0.5
        assert "alpha" in logged.data.params or "max_depth" in logged.data.params
    labels = (y > 0).astype(int)
    with mlflow.start_run() as run:
        search = GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2).fit(x, labels)
        print(classification_report(labels, search.predict(x)))  # fits a LabelEncoder inside
    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.tags["estimator_name"] == "GridSearchCV"  # the outermost fit, once
    model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert type(model).__name__ == "GridSearchCV"  # not the report's LabelEncoder
    mlflow.sklearn.autolog(disable=True)
    assert "fit" not in vars(Lasso)  # inherited again, as before autolog


def test_a_grid_search_logs_its_best_and_a_child_run_per_candidate(repo: Path, matrices):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    _, _, x, y = matrices
    mlflow.sklearn.autolog(max_tuning_runs=2, extra_tags={"team": "pricing"})
    with mlflow.start_run(run_name="search") as run:
        GridSearchCV(Ridge(), {"alpha": [0.01, 1.0, 100.0]}, cv=3).fit(x, y)
    parent = mlflow.get_run(run.info.run_id)
    assert parent.data.params["best_alpha"] == "0.01"
    assert "best_cv_score" in parent.data.metrics and parent.data.tags["team"] == "pricing"
    children = MlflowClient().search_runs(
        "default",
        f"tags.mlflow.parentRunId = '{run.info.run_id}'",
        order_by=["metrics.rank_test_score"],
    )
    assert [child.data.params["alpha"] for child in children] == ["0.01", "1.0"]  # the best 2
    assert children[0].data.metrics["rank_test_score"] == 1.0


def contexts(run) -> list[str]:
    return [item.tags[0].value for item in run.inputs.dataset_inputs]


def test_sklearn_autolog_keywords_mean_what_they_mean_in_mlflow(repo: Path, matrices):
    _, _, x, y = matrices
    mlflow.sklearn.autolog(log_input_examples=True)  # signatures and datasets: MLflow's defaults
    Ridge().fit(x, y)
    run = mlflow.last_active_run()
    model = artifacts(run) / "model"
    mlmodel = yaml.safe_load((model / "MLmodel").read_text())
    assert json.loads(mlmodel["signature"]["inputs"])[0]["type"] == "tensor"
    assert len(json.loads((model / "input_example.json").read_text())["inputs"]) == 5
    assert contexts(run) == ["train"]
    assert run.inputs.dataset_inputs[0].dataset.profile  # its shape, not its data

    mlflow.sklearn.autolog(log_model_signatures=False, log_datasets=False)
    Ridge().fit(x, y)
    run = mlflow.last_active_run()
    assert "signature" not in yaml.safe_load((artifacts(run) / "model" / "MLmodel").read_text())
    assert not (artifacts(run) / "model" / "input_example.json").exists()
    assert contexts(run) == []

    mlflow.sklearn.autolog(exclusive=True)
    with mlflow.start_run() as mine:
        Ridge(alpha=3.0).fit(x, y)  # the user's run: left alone
    assert "alpha" not in mlflow.get_run(mine.info.run_id).data.params
    Ridge(alpha=3.0).fit(x, y)  # no run of the user's: autolog's own
    assert mlflow.last_active_run().data.params["alpha"] == "3.0"
    with pytest.raises(TypeError, match="log_everything"):
        mlflow.autolog(log_everything=True)


def test_pos_label_makes_the_classifier_metrics_binary(repo: Path, matrices):
    from sklearn import metrics

    _, _, x, y = matrices
    labels = np.where(y > 1.0, "yes", "no")
    mlflow.sklearn.autolog(pos_label="yes")
    model = LogisticRegression().fit(x, labels)
    logged = mlflow.last_active_run().data.metrics
    predicted = model.predict(x)
    assert logged["training_precision_score"] == pytest.approx(
        metrics.precision_score(labels, predicted, pos_label="yes")
    )
    assert logged["training_recall_score"] != pytest.approx(
        metrics.recall_score(labels, predicted, average="weighted")
    )


def test_metrics_after_training_are_logged_to_the_models_run(repo: Path, matrices):
    from sklearn import metrics

    _, _, x, y = matrices
    X_train, X_test, y_train, y_test = x[:300], x[300:], y[:300], y[300:]
    plain_r2, plain_predict = metrics.r2_score, Ridge.predict
    mlflow.sklearn.autolog()
    model = Ridge().fit(X_train, y_train)
    run_id = mlflow.last_active_run().info.run_id
    predicted = model.predict(X_test)
    error = metrics.mean_squared_error(y_test, predicted)
    metrics.mean_squared_error(y_test, predicted)
    score = model.score(X_test, y_test)
    logged = mlflow.get_run(run_id).data.metrics
    assert logged["mean_squared_error_X_test"] == pytest.approx(error)
    assert "mean_squared_error_X_test-2" in logged
    assert logged["Ridge_score_X_test"] == pytest.approx(score)
    assert "training_score" in logged  # autolog's own, not taken for one of the user's

    mlflow.sklearn.autolog(log_post_training_metrics=False)
    model = Ridge().fit(X_train, y_train)
    metrics.r2_score(y_test, model.predict(X_test))
    assert not any(key.startswith("r2_score") for key in mlflow.last_active_run().data.metrics)
    mlflow.sklearn.autolog(disable=True)
    assert (metrics.r2_score, Ridge.predict) == (plain_r2, plain_predict)  # plain again


def test_silent_autolog_keeps_its_warnings_to_itself(repo: Path, matrices, caplog):
    _, _, x, y = matrices
    for silent in (False, True):
        caplog.clear()
        mlflow.sklearn.autolog(silent=silent, registered_model_name="bad name!")
        with caplog.at_level(logging.WARNING, logger="gitruns"):
            Ridge().fit(x, y)  # the model cannot be registered under that name
        warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert bool(warned) is not silent, warned


def test_xgboost_autolog_keywords(repo: Path, matrices):
    train, valid, x, y = matrices
    mlflow.xgboost.autolog(
        importance_types=["weight", "gain"], model_format="json", log_input_examples=True
    )
    xgb.train({"max_depth": 2}, train, num_boost_round=3, evals=[(valid, "validation")])
    run = mlflow.last_active_run()
    assert (artifacts(run) / "feature_importance_gain.json").exists()
    assert (artifacts(run) / "feature_importance_weight.json").exists()
    assert (artifacts(run) / "model" / "model.json").exists()
    assert (artifacts(run) / "model" / "input_example.json").exists()
    assert contexts(run) == ["train", "eval"]
    assert (
        run.inputs.dataset_inputs[0].dataset.digest != run.inputs.dataset_inputs[1].dataset.digest
    )
    with pytest.raises(InvalidValue, match="importance type 'height'"):
        mlflow.xgboost.autolog(importance_types=["height"])
    with pytest.raises(InvalidValue, match=r"model_format '\.\./x'"):
        mlflow.xgboost.autolog(model_format="../x")

    mlflow.autolog(exclude_flavors=["xgboost"])
    mlflow.xgboost.autolog(disable=True)
    before = len(MlflowClient().search_runs("default"))
    mlflow.autolog(exclude_flavors=["xgboost"])
    xgb.train({}, train, num_boost_round=2)
    Ridge().fit(x, y)
    assert len(MlflowClient().search_runs("default")) == before + 1


def test_log_model_returns_mlflow_3s_model_info(repo: Path, matrices):
    _, _, x, y = matrices
    with mlflow.start_run() as run:
        mlflow.log_metric("rmse", 0.5)
        info = mlflow.sklearn.log_model(
            Ridge().fit(x, y),
            name="ridge",
            input_example=x[:3],
            params={"alpha": "1.0"},
            tags={"stage": "candidate"},
            metadata={"owner": "pricing"},
        )
    assert info.name == "ridge" and info.run_id == run.info.run_id
    assert info.tags == {"stage": "candidate"} and info.params == {"alpha": "1.0"}
    assert [(m.key, m.value) for m in info.metrics] == [("rmse", 0.5)]
    assert info.metadata == {"owner": "pricing"} and info.creation_timestamp > 0
    assert info.signature.inputs and info.signature_dict["inputs"]
    assert mlflow.get_logged_model(info.model_id).tags == {"stage": "candidate"}
    assert mlflow.get_run(run.info.run_id).data.params["alpha"] == "1.0"
    assert mlflow.sklearn.load_model(info.model_uri).predict(x[:2]).shape == (2,)


def test_cloudpickle_models_load_only_when_trusted(repo: Path, matrices):
    from gitruns.models import UnsafeModel

    _, _, x, y = matrices
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            Ridge().fit(x, y), name="m", serialization_format="cloudpickle"
        )
    conf = yaml.safe_load((info.path / "MLmodel").read_text())["flavors"]["sklearn"]
    assert conf["serialization_format"] == "cloudpickle"
    assert "cloudpickle==" in (info.path / "requirements.txt").read_text()
    with pytest.raises(UnsafeModel, match="allow_pickle=True"):
        mlflow.sklearn.load_model(info.model_uri)
    loaded = mlflow.sklearn.load_model(info.model_uri, allow_pickle=True)
    np.testing.assert_allclose(loaded.predict(x[:3]), Ridge().fit(x, y).predict(x[:3]))
