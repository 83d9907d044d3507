"""Sub-commands `train` (fit, evaluate, log, optionally register) and `predict` (one date)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from training.errors import FeatureError, TrainingError
from training.features import FEATURE_GROUPS, validate_groups
from training.models import MODEL_FAMILIES

logger = logging.getLogger(__name__)

DEFAULT_MODEL_URI_TEMPLATE = "models:/{name}@{alias}"


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a model family, log the run to MLflow and optionally register it",
        description="Train on whole-year splits of the data at FIRE_DATA_URI and log the run to "
        "the MLflow server at MLFLOW_TRACKING_URI.",
    )
    train.add_argument(
        "--model",
        choices=MODEL_FAMILIES,
        default="hist_gradient_boosting",
        help="model family to train (default hist_gradient_boosting)",
    )
    train.add_argument(
        "--register", action="store_true", help="register the model as a new registry version"
    )
    train.add_argument(
        "--horizon-days",
        type=int,
        default=7,
        help="label horizon in days: predict a fire on days D+1..D+H (default 7)",
    )
    train.add_argument(
        "--feature-groups",
        help=f"comma-separated subset of {','.join(FEATURE_GROUPS)} "
        "(default: every group with data over the period)",
    )
    for split in ("train", "val", "test"):
        train.add_argument(
            f"--{split}-years",
            metavar="FIRST-LAST",
            help=f"{split} years such as 2004-2011 (default: split of the longest covered period)",
        )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hyperparameter of the model, repeatable (for example learning_rate=0.05)",
    )
    train.add_argument("--data-uri", help="data folder or URL (default: FIRE_DATA_URI)")
    train.set_defaults(handler=run_train)

    predict = subparsers.add_parser(
        "predict",
        help="predict every commune's fire probability for one date",
        description="Write one CSV row per commune: commune_code, name, department, probability.",
    )
    predict.add_argument("--date", required=True, help="day to predict, YYYY-MM-DD")
    predict.add_argument(
        "--model-uri",
        help="MLflow model URI (default: models:/FIRE_MODEL_NAME@FIRE_PRODUCTION_ALIAS)",
    )
    predict.add_argument("--output", help="CSV file to write (default: standard output)")
    predict.add_argument("--data-uri", help="data folder or URL (default: FIRE_DATA_URI)")
    predict.set_defaults(handler=run_predict)


def parse_param(text: str) -> tuple[str, Any]:
    """Parse NAME=VALUE, reading VALUE as JSON when it parses (numbers, true, null), else text."""
    name, separator, raw = text.partition("=")
    if not separator or not name.strip():
        raise TrainingError(f"--param {text!r} is invalid: write NAME=VALUE, e.g. max_iter=300")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def run_train(args: argparse.Namespace) -> int:
    from training.data import load_dataset
    from training.train import TrainConfig, parse_years, train_and_log

    config = TrainConfig(
        model_family=args.model,
        horizon_days=args.horizon_days,
        feature_groups=validate_groups(args.feature_groups) if args.feature_groups else None,
        train_years=parse_years(args.train_years) if args.train_years else None,
        val_years=parse_years(args.val_years) if args.val_years else None,
        test_years=parse_years(args.test_years) if args.test_years else None,
        hyperparameters=dict(parse_param(text) for text in args.param),
        register=args.register,
    )
    # MLflow writes "View run" links to standard output, which carries only the JSON summary here.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logger.info("Loading data")
    dataset = load_dataset(args.data_uri)
    result = train_and_log(dataset, config)
    summary = {
        "run_id": result.run_id,
        "model_uri": result.model_uri,
        "registered_version": result.registered_version,
        "test_average_precision": result.metrics.get("test_average_precision"),
        "test_roc_auc": result.metrics.get("test_roc_auc"),
    }
    print(json.dumps(summary, indent=2))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from training.data import load_dataset
    from training.predict import load_model, predict_communes
    from training.settings import load_settings

    settings = load_settings()
    model_uri = args.model_uri or DEFAULT_MODEL_URI_TEMPLATE.format(
        name=settings.model_name, alias=settings.production_alias
    )
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    loaded = load_model(model_uri)
    dataset = load_dataset(args.data_uri)
    try:
        table = predict_communes(dataset, loaded, args.date)
    except ValueError as error:
        raise FeatureError(f"--date {args.date!r} is invalid: use YYYY-MM-DD ({error})") from None
    if args.output:
        # Write beside the target and rename, so a failed write leaves no partial file.
        partial = f"{args.output}.partial"
        table.to_csv(partial, index=False)
        os.replace(partial, args.output)
        logger.info("Wrote %d rows to %s", len(table), args.output)
    else:
        table.to_csv(sys.stdout, index=False)
    return 0
