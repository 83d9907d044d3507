"""Time a full hist_gradient_boosting training run on the real data and report its peak memory.

Starts its own MLflow server on loopback, with SQLite and artifacts in a temporary folder. Loads
the data at FIRE_DATA_URI (default ../shared/data), trains with the default split, and prints
the wall time and the peak resident memory of this process and its children. Targets: at most
5 minutes and 4 GB on a 2-core machine.

    .venv/bin/python benchmarks/train.py [--model FAMILY] [--register]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests import servers  # noqa: E402

TARGET_SECONDS = 300
TARGET_GB = 4.0


def peak_memory_gb() -> float:
    """Return the larger peak resident set of this process and of its waited-for children in GB.

    On Linux `ru_maxrss` is in kilobytes. The MLflow server child is counted once it has exited.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hist_gradient_boosting")
    parser.add_argument("--register", action="store_true")
    args = parser.parse_args()
    for name, value in servers.QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    data_uri = os.environ.get("FIRE_DATA_URI", str(REPO_ROOT.parent / "shared" / "data"))

    from training.data import load_dataset
    from training.train import TrainConfig, train_and_log

    with tempfile.TemporaryDirectory() as state, servers.mlflow_server(Path(state)) as server:
        os.environ["MLFLOW_TRACKING_URI"] = server.url
        started = time.perf_counter()
        dataset = load_dataset(data_uri)
        loaded = time.perf_counter()
        result = train_and_log(
            dataset, TrainConfig(model_family=args.model, register=args.register)
        )
        finished = time.perf_counter()
    total = finished - started
    memory = peak_memory_gb()
    print(f"model family:         {args.model}")
    print(f"data load:            {loaded - started:.1f} s")
    print(f"train and log:        {finished - loaded:.1f} s")
    print(f"wall time total:      {total:.1f} s (target <= {TARGET_SECONDS} s)")
    print(f"peak memory:          {memory:.2f} GB (target <= {TARGET_GB} GB)")
    print(f"test_average_precision {result.metrics.get('test_average_precision'):.4f}")
    print(f"test_roc_auc           {result.metrics.get('test_roc_auc'):.4f}")
    return 0 if total <= TARGET_SECONDS and memory <= TARGET_GB else 1


if __name__ == "__main__":
    sys.exit(main())
