"""The Docker image's files: pins shared with the repository, the Space front matter, layout.

Docker has no engine on the test machines, so these tests read the files that the image is
built from, and run `schema.py` from a copy outside the repository, as the image does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests import servers
from tests.conftest import REPO_ROOT

SERVER_DIR = REPO_ROOT / "mlflow_server"


def requirement_lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-r"))]


def test_server_pins_match_repository():
    repository = set(requirement_lines(REPO_ROOT / "requirements.txt"))
    server = requirement_lines(SERVER_DIR / "requirements.txt")
    assert "mlflow[auth]==3.17.2" in server
    assert [line for line in server if line not in repository] == []


def test_dockerfile_runs_entrypoint_as_uid_1000():
    dockerfile = (SERVER_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.count("FROM ") == 1
    assert "FROM python:3.11-slim" in dockerfile
    assert "useradd --create-home --uid 1000 user" in dockerfile
    assert dockerfile.index("USER user") > dockerfile.index("RUN pip install")
    assert "EXPOSE 7860" in dockerfile
    assert 'ENTRYPOINT ["bash", "/app/entrypoint.sh"]' in dockerfile
    assert "COPY entrypoint.sh schema.py /app/" in dockerfile
    assert "MLFLOW_DISABLE_TELEMETRY=true" in dockerfile


def test_readme_starts_with_space_front_matter():
    text = (SERVER_DIR / "README.md").read_text(encoding="utf-8")
    front_matter = text.split("---\n")[1]
    assert text.startswith("---\n")
    assert "sdk: docker\n" in front_matter
    assert "app_port: 7860\n" in front_matter


def test_readme_copies_every_image_file():
    text = (SERVER_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("README.md", "Dockerfile", "requirements.txt", "entrypoint.sh", "schema.py"):
        assert name in text
        assert (SERVER_DIR / name).is_file()


def test_schema_script_runs_outside_repository(tmp_path):
    script = tmp_path / "app" / "schema.py"
    script.parent.mkdir()
    shutil.copy(SERVER_DIR / "schema.py", script)
    result = subprocess.run(
        [sys.executable, str(script)],
        env={
            **servers.QUIET_ENVIRONMENT,
            "BACKEND_STORE_URI": f"sqlite:///{tmp_path / 'store.db'}",
            "PATH": "/usr/bin:/bin",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "has no MLflow tables" in result.stderr
