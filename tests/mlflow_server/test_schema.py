"""The backend store check that the entrypoint runs before `mlflow server`.

PostgreSQL tests build an older MLflow schema with the alembic scripts shipped in MLflow, then
run the entrypoint on it. A database set to read-only makes `mlflow db upgrade` fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

from mlflow_server import schema
from tests.mlflow_server.conftest import EntrypointServer, postgres_uri, run_entrypoint, run_sql

# How many migrations behind the installed MLflow the "outdated" schema is.
MIGRATIONS_BEHIND = 10


def older_revision(steps: int = MIGRATIONS_BEHIND) -> str:
    revisions = [script.revision for script in schema.migration_scripts().walk_revisions()]
    return revisions[steps]


def create_schema_at(uri: str, revision: str | None) -> None:
    """Create MLflow's first tables, then migrate them up to `revision` (none: stay there)."""
    engine = sqlalchemy.create_engine(uri)
    try:
        InitialBase.metadata.create_all(engine)
        if revision is None:
            return
        config = Config()
        config.set_main_option("script_location", schema.migration_scripts().dir)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def psycopg2_uri(database: str) -> str:
    return postgres_uri(database).replace("postgresql://", "postgresql+psycopg2://")


def stored_revision(database: str) -> str:
    return run_sql(database, "SELECT version_num FROM alembic_version")


@pytest.mark.postgres
def test_outdated_schema_upgraded_at_start(database, tmp_path):
    old = older_revision()
    create_schema_at(psycopg2_uri(database), old)
    head = schema.migration_scripts().get_current_head()
    server = EntrypointServer(
        variables={
            "BACKEND_STORE_URI": postgres_uri(database),
            "MLFLOW_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        },
        work_dir=tmp_path,
    )
    server.start()
    try:
        log = server.log.read_text()
        assert f"Upgrading the backend store schema from revision {old} to {head}" in log
        assert f"Upgraded the backend store schema to revision {head}" in log
        assert stored_revision(database) == head
    finally:
        server.stop()


@pytest.mark.postgres
def test_failed_upgrade_keeps_server_down(database, tmp_path):
    old = older_revision()
    create_schema_at(psycopg2_uri(database), old)
    run_sql("postgres", f"ALTER DATABASE {database} SET default_transaction_read_only = on")

    result = run_entrypoint(
        {"BACKEND_STORE_URI": postgres_uri(database), "S3_BUCKET": "unused"}, tmp_path
    )

    assert result.returncode == 1
    assert "mlflow db upgrade failed" in result.stderr
    assert "the server was not started" in result.stderr
    assert "Uvicorn running" not in result.stderr
    assert stored_revision(database) == old


@pytest.mark.postgres
def test_unknown_revision_rejected(database, tmp_path):
    create_schema_at(psycopg2_uri(database), None)
    run_sql(database, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    run_sql(database, "INSERT INTO alembic_version VALUES ('ffffffffffff')")

    result = run_entrypoint(
        {"BACKEND_STORE_URI": postgres_uri(database), "S3_BUCKET": "unused"}, tmp_path
    )

    assert result.returncode == 1
    assert "schema revision 'ffffffffffff', which MLflow" in result.stderr
    assert "Uvicorn running" not in result.stderr


def sqlite_engine(path: Path) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(f"sqlite:///{path}")


def test_inspect_empty_database(tmp_path):
    status = schema.inspect_schema(sqlite_engine(tmp_path / "empty.db"))
    assert status.state is schema.SchemaState.EMPTY
    assert status.current_revision is None


def test_inspect_outdated_database(tmp_path):
    path = tmp_path / "old.db"
    create_schema_at(f"sqlite:///{path}", older_revision())
    status = schema.inspect_schema(sqlite_engine(path))
    assert status.state is schema.SchemaState.OUTDATED
    assert status.current_revision == older_revision()


def test_prepare_upgrades_outdated_sqlite(tmp_path):
    path = tmp_path / "old.db"
    create_schema_at(f"sqlite:///{path}", older_revision())
    status = schema.prepare_backend_store(f"sqlite:///{path}")
    assert status.state is schema.SchemaState.CURRENT
    assert schema.inspect_schema(sqlite_engine(path)).state is schema.SchemaState.CURRENT


def test_inspect_tables_without_revision(tmp_path):
    path = tmp_path / "unstamped.db"
    create_schema_at(f"sqlite:///{path}", None)
    status = schema.inspect_schema(sqlite_engine(path))
    assert status.state is schema.SchemaState.UNKNOWN


def test_redact_uri_hides_password():
    redacted = schema.redact_uri("postgresql+psycopg2://team:s3cr%40t@db.example:5432/mlflow")
    assert redacted == "postgresql+psycopg2://team:***@db.example:5432/mlflow"


def test_redact_text_hides_decoded_password():
    uri = "postgresql://team:s3cr%40t@db.example/mlflow"
    assert schema.redact_text("auth failed for s3cr@t", uri) == "auth failed for ***"
