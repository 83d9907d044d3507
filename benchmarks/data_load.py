"""Time `load_dataset` on a data folder read three ways: local folder, HTTP, S3 (moto).

Usage: `.venv/bin/python benchmarks/data_load.py [DATA_FOLDER] [--repeat N]`.
The HTTP and S3 servers run on loopback. The first load of each kind fills an empty cache (cold),
and the later ones revalidate it (warm). One line per URI kind gives the median and max in seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests import servers  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.data.publish import push_folder  # noqa: E402
from training.data.remote import s3_client  # noqa: E402


def time_loads(uri: str, repeat: int) -> tuple[float, list[float], str]:
    """Load `uri` once cold, then `repeat` times warm; return the times and the digest."""
    started = time.perf_counter()
    digest = load_dataset(uri).digest
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        load_dataset(uri)
        warm.append(time.perf_counter() - started)
    return cold, warm, digest


def report(kind: str, cold: float, warm: list[float], digest: str) -> None:
    print(
        f"{kind:7s} cold {cold:5.2f} s   warm median {statistics.median(warm):5.2f} s, "
        f"max {max(warm):5.2f} s   digest {digest[:12]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO_ROOT.parent / "shared" / "data"))
    parser.add_argument("--repeat", type=int, default=5, help="warm loads per URI kind")
    args = parser.parse_args()
    os.environ.update(servers.QUIET_ENVIRONMENT)
    folder = Path(args.folder)
    with tempfile.TemporaryDirectory() as state:
        state_dir = Path(state)
        os.environ["FIRE_DATA_CACHE_DIR"] = str(state_dir / "cache")
        os.environ["FIRE_SECRETS_FILE"] = str(state_dir / "no-secrets")
        print(f"data folder {folder}, {os.cpu_count()} cores, {args.repeat} warm loads each")
        report("folder", *time_loads(str(folder), args.repeat))
        with servers.static_http_server(folder, state_dir) as http:
            report("http", *time_loads(http.url, args.repeat))
        with servers.moto_s3_server(state_dir) as moto:
            os.environ.update(
                MLFLOW_S3_ENDPOINT_URL=moto.url,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_DEFAULT_REGION="us-east-1",
            )
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            s3_client().create_bucket(Bucket=bucket)
            push_folder(folder, f"s3://{bucket}/data")
            report("s3", *time_loads(f"s3://{bucket}/data", args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
