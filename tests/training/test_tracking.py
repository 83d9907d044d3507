"""MLflow helpers of a training run that need no server."""

from __future__ import annotations

import re

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.pandas_dataset import PandasDataset

from tests.servers import free_port
from training import tracking
from training.errors import TrackingError


# MLflow hints that integer columns cannot hold gaps; the label column here is meant to be int.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_panel_dataset_schema_matches_full_inference():
    rows = 3000
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2010-01-01", periods=rows, freq="h"),
            "commune_code": pd.array(["2A004"] * rows, dtype="string"),
            "tx_c": np.arange(rows, dtype=np.float32),
            "label": np.zeros(rows, dtype=np.int8),
        }
    )
    # The only gap is far past the sampled first rows.
    frame.loc[2500, "tx_c"] = np.nan
    source = CodeDatasetSource(tags={})
    fast = tracking.PanelDataset(frame, source=source, digest="d", targets="label").schema
    full = PandasDataset(frame, source=source, digest="d", targets="label").schema
    assert fast == full
    assert not fast.input_dict()["tx_c"].required


def test_git_commit_of_checkout():
    commit = tracking.git_commit()
    assert commit is not None
    assert len(commit) == 40


def test_git_commit_outside_checkout(tmp_path):
    assert tracking.git_commit(tmp_path) is None


def test_unreachable_server_raises_tracking_error(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingError, match=re.escape(repr(url))):
        tracking.start_experiment(url, "corsica-fire-risk")
    mlflow.set_tracking_uri(None)
