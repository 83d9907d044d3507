"""Check the backend store's schema before the MLflow server starts, and upgrade it if outdated.

`mlflow server` creates its tables in an empty database, but on an older schema it exits with a
message requesting `mlflow db upgrade <uri>`. That command takes the URI, and so the database
password, as a command-line argument, which every local user can read with `ps`. This script
reads the URI from the environment instead and runs the same click command in-process.

Run as a script (`python schema.py`, with `BACKEND_STORE_URI` set), it exits with 0 when the
server may start and 1 when it must not. It imports nothing from this repository, so the Docker
image can copy it next to the entrypoint.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import sqlalchemy
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine, make_url

logger = logging.getLogger("mlflow_server.schema")

URI_VARIABLES = ("BACKEND_STORE_URI", "MLFLOW_BACKEND_STORE_URI")
# A table that every MLflow tracking schema has had since MLflow 1.0.
MLFLOW_MARKER_TABLE = "experiments"


class SchemaError(RuntimeError):
    """The backend store cannot be used by the installed MLflow, even after an upgrade."""


class SchemaState(enum.Enum):
    """State of a backend store's schema, as found by `inspect_schema`."""

    EMPTY = "empty"  # no MLflow tables: the server creates them at start-up
    CURRENT = "current"  # at the installed MLflow's latest revision
    OUTDATED = "outdated"  # at an older revision that `mlflow db upgrade` can migrate
    UNKNOWN = "unknown"  # MLflow tables with a revision this MLflow does not know


@dataclass(frozen=True)
class SchemaStatus:
    """The state of a backend store and the revisions behind it."""

    state: SchemaState
    current_revision: str | None
    head_revision: str


def redact_uri(uri: str) -> str:
    """Return `uri` with its password replaced by `***`, for logs and error messages."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "<unparsable URI>"


def redact_text(text: str, uri: str) -> str:
    """Remove the password of `uri` from `text`, such as a driver's error message."""
    try:
        password = make_url(uri).password
    except sqlalchemy.exc.ArgumentError:
        return text
    return text.replace(password, "***") if password else text


def describe_error(error: Exception, uri: str) -> str:
    """Return the error's type and first line, without the password of `uri`.

    The first line of an SQLAlchemy error contains the driver's message, and the rest repeats
    the SQL statement.
    """
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return redact_text(f"{type(error).__name__}: {first_line}", uri)


def migration_scripts() -> ScriptDirectory:
    """Return the alembic scripts that ship with the installed MLflow."""
    scripts = Path(mlflow.__file__).parent / "store" / "db_migrations"
    return ScriptDirectory(str(scripts))


def inspect_schema(engine: Engine) -> SchemaStatus:
    """Compare the database's alembic revision with the installed MLflow's latest one."""
    scripts = migration_scripts()
    head = scripts.get_current_head()
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if MLFLOW_MARKER_TABLE not in tables:
        return SchemaStatus(SchemaState.EMPTY, current, head)
    if current == head:
        return SchemaStatus(SchemaState.CURRENT, current, head)
    if current is not None and _is_known_revision(scripts, current):
        return SchemaStatus(SchemaState.OUTDATED, current, head)
    return SchemaStatus(SchemaState.UNKNOWN, current, head)


def _is_known_revision(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_schema(uri: str) -> None:
    """Run `mlflow db upgrade` in this process, so that the URI never appears in `ps`."""
    from mlflow.db import upgrade

    upgrade.main(args=[uri], prog_name="mlflow db upgrade", standalone_mode=False)


def prepare_backend_store(uri: str) -> SchemaStatus:
    """Upgrade an outdated schema and return the state the server will start from.

    Raises:
        SchemaError: the revision is unknown to the installed MLflow (the database was written
            by a newer MLflow, or is not an MLflow database), or the upgrade failed.
    """
    from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry

    engine = create_sqlalchemy_engine_with_retry(uri)
    try:
        status = inspect_schema(engine)
        if status.state is SchemaState.UNKNOWN:
            raise SchemaError(
                f"The backend store {redact_uri(uri)} has MLflow tables at schema revision "
                f"{status.current_revision!r}, which MLflow {mlflow.__version__} does not know "
                f"(its latest is {status.head_revision!r}). Run the MLflow version that wrote "
                "it, or restore a backup made by an older MLflow."
            )
        if status.state is not SchemaState.OUTDATED:
            return status
        logger.info(
            "Upgrading the backend store schema from revision %s to %s (MLflow %s).",
            status.current_revision,
            status.head_revision,
            mlflow.__version__,
        )
        try:
            upgrade_schema(uri)
        except Exception as error:
            message = describe_error(error, uri)
            raise SchemaError(
                f"mlflow db upgrade failed on {redact_uri(uri)}: {message}. The server was not "
                "started: fix the cause and restart it, and if the upgrade changed the database, "
                "restore the backup taken before it."
            ) from None
        upgraded = inspect_schema(engine)
        if upgraded.state is not SchemaState.CURRENT:
            raise SchemaError(
                f"After mlflow db upgrade, {redact_uri(uri)} is at revision "
                f"{upgraded.current_revision!r}, not {upgraded.head_revision!r}. The server "
                "was not started."
            )
        logger.info("Upgraded the backend store schema to revision %s.", upgraded.current_revision)
        return upgraded
    finally:
        engine.dispose()


def main() -> int:
    """Prepare the backend store named by the environment; return the process exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uri = next((os.environ[name] for name in URI_VARIABLES if os.environ.get(name)), "")
    if not uri:
        logger.error("BACKEND_STORE_URI is missing: set it to the backend store's URI.")
        return 1
    try:
        status = prepare_backend_store(uri)
    except SchemaError as error:
        logger.error("%s", error)
        return 1
    except Exception as error:  # a driver or network error: report it without the password
        message = describe_error(error, uri)
        logger.error("Could not inspect the backend store %s: %s", redact_uri(uri), message)
        return 1
    if status.state is SchemaState.EMPTY:
        logger.info("The backend store has no MLflow tables; the server will create them.")
    else:
        logger.info("The backend store schema is at the latest revision %s.", status.head_revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
