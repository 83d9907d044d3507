"""The risk map's data: the dataset and the production model loaded once, predictions cached."""

from __future__ import annotations

import datetime as dt

import mlflow
import pandas as pd
import streamlit as st

from training.data import Dataset, load_dataset
from training.predict import LoadedModel, load_model, predict_communes


@st.cache_resource(show_spinner="Loading the Corsica data...")
def cached_dataset(data_uri: str) -> Dataset:
    return load_dataset(data_uri)


@st.cache_resource(show_spinner="Loading the production model...", max_entries=4)
def cached_model(tracking_uri: str, model_name: str, version: int) -> LoadedModel:
    """Load one registered version; a version's artifact never changes, so it is kept."""
    mlflow.set_tracking_uri(tracking_uri)
    return load_model(f"models:/{model_name}/{version}")


@st.cache_data(show_spinner="Predicting the 360 communes...", max_entries=64)
def cached_predictions(
    tracking_uri: str, data_uri: str, model_name: str, version: int, date: dt.date
) -> pd.DataFrame:
    loaded = cached_model(tracking_uri, model_name, version)
    return predict_communes(cached_dataset(data_uri), loaded, date)
