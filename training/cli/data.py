"""`python -m training data {check,fetch,push}`: check, download and share the data folder."""

from __future__ import annotations

import argparse
import json
from typing import Any

from training.data import load_dataset


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


def run_check(args: argparse.Namespace) -> int:
    """Print the check report; exit status 0 when the data is usable for training, else 1."""
    dataset = load_dataset(args.uri)
    report = dataset.report
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0 if report["usable"] else 1


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
