"""Time the prediction of all 360 communes for one date, with the data and the model loaded.

Without --model-uri, starts its own MLflow server on loopback and trains hist_gradient_boosting
on the default split first (about a minute). Each timed call builds the features of one date and
predicts with the pyfunc model, as the dashboard's map does. Prints the median and the maximum
over --repeats dates spread over the model's valid range. Target: median at most 1 second.

    .venv/bin/python benchmarks/predict.py [--model-uri models:/corsica-fire-risk/2] [--repeats 20]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests import servers  # noqa: E402

TARGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", help="model to time (uses MLFLOW_TRACKING_URI)")
    parser.add_argument("--repeats", type=int, default=20, help="number of dates to time")
    args = parser.parse_args()
    for name, value in servers.QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    data_uri = os.environ.get("FIRE_DATA_URI", str(REPO_ROOT.parent / "shared" / "data"))

    from training.data import load_dataset
    from training.predict import load_model, predict_communes, valid_date_range
    from training.train import TrainConfig, train_and_log

    dataset = load_dataset(data_uri)
    with contextlib.ExitStack() as stack:
        model_uri = args.model_uri
        if model_uri is None:
            state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            server = stack.enter_context(servers.mlflow_server(state))
            os.environ["MLFLOW_TRACKING_URI"] = server.url
            import mlflow

            mlflow.set_tracking_uri(server.url)
            model_uri = train_and_log(dataset, TrainConfig()).model_uri
        loaded = load_model(model_uri)
        first, last = valid_date_range(dataset, loaded)
        dates = pd.date_range(first, last, periods=args.repeats).normalize()
        predict_communes(dataset, loaded, dates[0])  # warm-up: imports and caches
        timings = []
        for date in dates:
            started = time.perf_counter()
            table = predict_communes(dataset, loaded, date)
            timings.append(time.perf_counter() - started)
            assert len(table) == len(dataset.communes)
    median = statistics.median(timings)
    print(f"model:            {model_uri} ({loaded.model_family})")
    print(f"dates timed:      {len(timings)} from {first} to {last}")
    print(f"median per date:  {median:.3f} s (target <= {TARGET_SECONDS} s)")
    print(f"max per date:     {max(timings):.3f} s")
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
