"""`python -m training data {check,fetch,push,manifest}`: check, download, share the data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from training.data import load_dataset
from training.data.fetch import (
    BDIFF_INSTRUCTIONS,
    COMMUNES_BASE_URL,
    DATAGOUV_DATASET_API,
    SYNOP_BASE_URL,
    SYNOP_FIRST_MONTH,
    FetchOptions,
    fetch_all,
)
from training.data.publish import push_folder, write_manifest
from training.errors import DataError
from training.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` command group and its sub-commands."""
    data_parser = subparsers.add_parser("data", help="check, download or upload the data folder")
    commands = data_parser.add_subparsers(dest="data_command", required=True)

    check = commands.add_parser("check", help="load every file and print the check report")
    check.add_argument(
        "--uri", help="data folder, http(s):// base URL or s3://bucket/prefix (FIRE_DATA_URI)"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=run_check)

    fetch = commands.add_parser(
        "fetch", help="download the official public sources into the local data folder"
    )
    fetch.add_argument("--dest", help="local data folder to fill (default: FIRE_DATA_URI)")
    fetch.add_argument(
        "--source",
        action="append",
        choices=("communes", "meteofrance", "synop"),
        help="download only this source (repeat for several; default: all three)",
    )
    fetch.add_argument(
        "--communes-base-url",
        default=COMMUNES_BASE_URL,
        help="base URL of the france-geojson repository or a mirror, for the commune outlines",
    )
    fetch.add_argument(
        "--datagouv-dataset-api",
        default=DATAGOUV_DATASET_API,
        help="data.gouv.fr API URL of the Météo-France daily dataset, listing its files",
    )
    fetch.add_argument(
        "--synop-base-url",
        default=SYNOP_BASE_URL,
        help="base URL of the SYNOP monthly archive (synop.YYYYMM.csv.gz files)",
    )
    fetch.add_argument("--synop-from", default=SYNOP_FIRST_MONTH, help="first SYNOP month, YYYY-MM")
    fetch.add_argument("--synop-to", help="last SYNOP month, YYYY-MM (default: last month)")
    fetch.add_argument(
        "--refresh",
        action="store_true",
        help="download files again even when present (the `latest` daily file changes daily)",
    )
    fetch.set_defaults(handler=run_fetch)

    push = commands.add_parser("push", help="upload the local data folder to an S3 prefix")
    push.add_argument("destination", help="s3://bucket/prefix")
    push.add_argument("--from", dest="folder", help="local data folder (default: FIRE_DATA_URI)")
    push.set_defaults(handler=run_push)

    manifest = commands.add_parser(
        "manifest", help="write manifest.json into a local data folder, to serve it over HTTP"
    )
    manifest.add_argument("folder", nargs="?", help="local data folder (default: FIRE_DATA_URI)")
    manifest.set_defaults(handler=run_manifest)


def run_check(args: argparse.Namespace) -> int:
    """Print the check report; exit status 0 when the data is usable for training, else 1."""
    dataset = load_dataset(args.uri)
    report = dataset.report
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0 if report["usable"] else 1


def run_fetch(args: argparse.Namespace) -> int:
    """Download the public sources, then print what was done and how to add BDIFF."""
    settings = load_settings()
    destination = _local_folder(args.dest)
    options = FetchOptions(
        destination=destination,
        timeout=settings["FIRE_HTTP_TIMEOUT"],
        retries=settings["FIRE_HTTP_RETRIES"],
        communes_base_url=args.communes_base_url,
        datagouv_dataset_api=args.datagouv_dataset_api,
        synop_base_url=args.synop_base_url,
        synop_first_month=args.synop_from,
        synop_last_month=args.synop_to,
        sources=tuple(args.source or ("communes", "meteofrance", "synop")),
        refresh=args.refresh,
    )
    summary = fetch_all(options)
    print(f"Data folder: {destination}")
    print(f"Downloaded: {len(summary.downloaded)} files")
    for path in summary.downloaded:
        print(f"  {path}")
    print(f"Already present, skipped: {len(summary.skipped)} files")
    if summary.not_found:
        print(f"Not published (HTTP 404): {', '.join(summary.not_found)}")
    print()
    print(BDIFF_INSTRUCTIONS.format(folder=destination))
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Upload the data folder and its manifest to S3."""
    folder = _local_folder(args.folder)
    result = push_folder(folder, args.destination)
    print(
        f"Pushed {folder} to {args.destination}: {result['uploaded']} uploaded, "
        f"{result['unchanged']} unchanged. Digest: {result['digest']}"
    )
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    """Write manifest.json into the data folder."""
    path = write_manifest(_local_folder(args.folder))
    print(f"Wrote {path}")
    return 0


def _local_folder(value: str | None) -> Path:
    uri = value or load_settings().data_uri
    if uri.startswith(("http://", "https://", "s3://")):
        raise DataError(
            f"{uri!r} is not a local folder; give a local data folder (argument or FIRE_DATA_URI)."
        )
    return Path(uri).expanduser()


def format_report(report: dict[str, Any]) -> str:
    """Render the check report as plain text, one source per block."""
    communes, fires, weather = report["communes"], report["fires"], report["weather"]
    lines = [
        f"Data folder: {report['uri']}",
        f"Digest: {report['digest']}",
        "",
        f"Communes: {communes['count']} "
        + ", ".join(f"{code}: {count}" for code, count in communes["departments"].items()),
        f"  with population: {communes['with_population']}, area from {communes['area_source']}",
        *_rejections(communes["rejected"]),
        "",
        f"Fires: {fires['rows']} kept, {fires['first_date']} to {fires['last_date']}, "
        f"{fires['communes_with_fires']} communes with a fire",
        f"  duplicates dropped: {fires['duplicates_dropped']}",
        *[
            f"  {entry['file']}: {entry['rows_read']} rows read, {entry['corsican_rows']} in 2A/2B"
            for entry in fires["files"]
        ],
        *_rejections(fires["rejected"]),
        "  Source: BDIFF, bdiff.agriculture.gouv.fr",
        "",
        f"Weather: {weather['stations']} stations ({', '.join(weather['station_ids'])}), "
        f"{weather['first_date']} to {weather['last_date']}",
        f"  source priority: {weather['source_priority']}",
        *[
            f"  {name}: {span['days']} days, {span['first_date']} to {span['last_date']}"
            for name, span in weather["variables"].items()
        ],
        *_rejections(weather["rejected"]),
    ]
    for name, source in weather["sources"].items():
        lines.append(f"  {name}: {len(source['files'])} files")
        lines.extend(_rejections(source["rejected"], indent="    "))
    lines.append("")
    lines.append("Usable for training: " + ("yes" if report["usable"] else "no"))
    return "\n".join(lines)


def _rejections(counts: dict[str, int], indent: str = "  ") -> list[str]:
    return [f"{indent}rejected ({reason}): {count}" for reason, count in counts.items()]
