"""MLflow helpers of a training run that need no server."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.pandas_dataset import PandasDataset

from training import tracking


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
