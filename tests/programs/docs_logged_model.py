"""MLflow 3's docs: log a model, find it by its id, tag it, load it by its URI."""

import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

x = np.array([[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.1, 0.9]])
y = np.array([1, 0, 0, 1])
mlflow.set_experiment("logged-models")
with mlflow.start_run() as run:
    model_info = mlflow.sklearn.log_model(
        sk_model=LogisticRegression().fit(x, y), name="classifier", input_example=x[:2]
    )
logged = mlflow.get_logged_model(model_info.model_id)
assert logged.source_run_id == run.info.run_id and logged.name == "classifier"
mlflow.set_logged_model_tags(model_info.model_id, {"reviewed": "true"})
assert mlflow.get_logged_model(model_info.model_id).tags["reviewed"] == "true"
predictions = mlflow.pyfunc.load_model(model_info.model_uri).predict(x)
assert list(predictions) == [1, 0, 0, 1]
assert model_info.signature is not None
print("OK")
