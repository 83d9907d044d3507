#!/usr/bin/env bash
# Start the MLflow tracking server from environment variables: the Docker image's entrypoint,
# also run by `python -m mlflow_server` on a laptop.
#
# Variables (mlflow_server/README.md explains each one):
#   BACKEND_STORE_URI (required)   postgresql://user:password@host:5432/db, or sqlite:///path
#   MLFLOW_DEFAULT_ARTIFACT_ROOT   artifact destination, proxied by the server (s3://bucket/prefix)
#   S3_BUCKET                      used as s3://$S3_BUCKET/mlflow-artifacts when the root is empty
#   MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   read by boto3 in the server
#   PORT (7860), HOST (0.0.0.0), MLFLOW_SERVER_WORKERS (2)
#   ALLOWED_HOSTS                  comma-separated extra Host headers; SPACE_HOST is added too
#   MLFLOW_SERVER_X_FRAME_OPTIONS  NONE (default, lets Hugging Face frame the UI) or SAMEORIGIN
#   MLFLOW_AUTH_ENABLED, MLFLOW_AUTH_ADMIN_USERNAME, MLFLOW_AUTH_ADMIN_PASSWORD,
#   MLFLOW_FLASK_SERVER_SECRET_KEY, MLFLOW_AUTH_DATABASE_URI   optional basic authentication
#
# Secrets reach MLflow through the environment or a mode-600 file, never through command-line
# arguments, so `ps` does not show them. Exit code 2 means a configuration error.
set -euo pipefail

export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
# Without credentials in the environment, boto3 would ask the cloud metadata address for them.
export AWS_EC2_METADATA_DISABLED="${AWS_EC2_METADATA_DISABLED:-true}"
# The product uses tracking and the registry only. Server-side jobs (GenAI scorers, trace
# rollups) would add a job runner and seven huey consumers, which outlive a SIGTERM to the server.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The admin password that earlier MLflow versions shipped in basic_auth.ini
# (advisory GHSA-gq3w-7jj3-x7gr, cited in MLflow 3.17.2's mlflow/server/auth).
LEGACY_ADMIN_PASSWORD="password1234"

log() {
    printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

fail() {
    log "error: $*"
    exit 2
}

# Print "true" or "false" for a boolean variable's value, or fail naming the variable.
parse_bool() {
    local name="$1" value
    value="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')"
    case "$value" in
        1 | true | yes | on) echo true ;;
        0 | false | no | off | "") echo false ;;
        *) fail "$name='$2' is not a boolean: use true or false." ;;
    esac
}

# Print the URI with the psycopg2 driver for postgres:// and postgresql:// URIs. SQLAlchemy 2.1
# maps postgresql:// to psycopg 3, which is not installed, and does not accept postgres://.
with_psycopg2_driver() {
    case "$1" in
        postgres://*) echo "postgresql+psycopg2://${1#postgres://}" ;;
        postgresql://*) echo "postgresql+psycopg2://${1#postgresql://}" ;;
        *) echo "$1" ;;
    esac
}

check_port() {
    if [[ ! "$PORT" =~ ^[0-9]+$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
        fail "PORT='$PORT' is not a TCP port: use an integer from 1 to 65535."
    fi
}

# Set ARTIFACTS_DESTINATION from MLFLOW_DEFAULT_ARTIFACT_ROOT or S3_BUCKET.
resolve_artifacts_destination() {
    if [[ -n "${MLFLOW_DEFAULT_ARTIFACT_ROOT:-}" ]]; then
        ARTIFACTS_DESTINATION="$MLFLOW_DEFAULT_ARTIFACT_ROOT"
    elif [[ -n "${S3_BUCKET:-}" ]]; then
        ARTIFACTS_DESTINATION="s3://${S3_BUCKET}/mlflow-artifacts"
    else
        fail "no artifact store: set MLFLOW_DEFAULT_ARTIFACT_ROOT (s3://bucket/prefix) or" \
            "S3_BUCKET. The container's disk is not persistent, so artifacts must live outside."
    fi
    if [[ "$ARTIFACTS_DESTINATION" == s3://* && -z "${AWS_ACCESS_KEY_ID:-}" ]]; then
        log "warning: AWS_ACCESS_KEY_ID is empty, so boto3 looks for S3 credentials elsewhere."
    fi
    # `mlflow server` reads MLFLOW_DEFAULT_ARTIFACT_ROOT as --default-artifact-root, which would
    # give new experiments a direct s3:// location and make every client need AWS credentials.
    unset MLFLOW_DEFAULT_ARTIFACT_ROOT
}

# Set ALLOWED_HOST_LIST and CORS_ORIGIN_LIST (comma-separated) from ALLOWED_HOSTS and SPACE_HOST.
resolve_allowed_hosts() {
    local hosts=(localhost 'localhost:*' 127.0.0.1 '127.0.0.1:*')
    local origins=()
    local extra entry
    # A running Space has SPACE_HOST, e.g. owner-space.hf.space (Hub docs, "Helper environment
    # variables" in spaces-overview.md).
    IFS=',' read -r -a extra <<<"${ALLOWED_HOSTS:-},${SPACE_HOST:-}"
    for entry in "${extra[@]}"; do
        entry="${entry//[[:space:]]/}"
        [[ -z "$entry" ]] && continue
        if [[ "$entry" == */* ]]; then
            fail "ALLOWED_HOSTS entry '$entry' is not a host name: remove the scheme and path."
        fi
        hosts+=("$entry")
        [[ "$entry" != *:* ]] && hosts+=("$entry:*")
        # The UI's own write requests carry this Origin, which MLflow blocks unless allowed.
        origins+=("https://$entry" "http://$entry")
    done
    ALLOWED_HOST_LIST="$(IFS=','; echo "${hosts[*]}")"
    CORS_ORIGIN_LIST="$(IFS=','; echo "${origins[*]}")"
}

# Write the basic-auth ini file and export MLFLOW_AUTH_CONFIG_PATH. MLflow reads the admin
# password and the secret key from the environment itself, so they stay out of the file.
configure_basic_auth() {
    local username="${MLFLOW_AUTH_ADMIN_USERNAME:-admin}"
    # NOTE: MLflow 3.17.2 uses this password only when it creates the admin user. Changing it
    # later needs MLflow's update-password API (see README.md), not a new value here.
    if [[ -z "${MLFLOW_AUTH_ADMIN_PASSWORD:-}" ]]; then
        fail "MLFLOW_AUTH_ENABLED is on but MLFLOW_AUTH_ADMIN_PASSWORD is missing: set it as a" \
            "secret."
    fi
    if [[ "$MLFLOW_AUTH_ADMIN_PASSWORD" == "$LEGACY_ADMIN_PASSWORD" ]]; then
        fail "MLFLOW_AUTH_ADMIN_PASSWORD is MLflow's former published default: choose another."
    fi
    if [[ -z "${MLFLOW_FLASK_SERVER_SECRET_KEY:-}" ]]; then
        fail "MLFLOW_AUTH_ENABLED is on but MLFLOW_FLASK_SERVER_SECRET_KEY is missing: set it" \
            "as a secret (the same value on every replica)."
    fi
    if [[ ! "$username" =~ ^[A-Za-z0-9._@-]+$ ]]; then
        fail "MLFLOW_AUTH_ADMIN_USERNAME='$username' is invalid: use letters, digits, . _ @ -."
    fi

    AUTH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mlflow-auth.XXXXXX")"
    local database_uri
    database_uri="$(with_psycopg2_driver "${MLFLOW_AUTH_DATABASE_URI:-}")"
    if [[ -z "$database_uri" ]]; then
        local state_dir="${MLFLOW_SERVER_STATE_DIR:-$AUTH_DIR}"
        database_uri="sqlite:///${state_dir}/basic_auth.db"
        log "warning: MLFLOW_AUTH_DATABASE_URI is empty, so users are stored in" \
            "${state_dir}/basic_auth.db. Users other than the admin are lost when that disk is."
    fi
    if [[ "$database_uri" == *$'\n'* || "$database_uri" == *$'\r'* ]]; then
        fail "MLFLOW_AUTH_DATABASE_URI contains a line break: remove it."
    fi

    # configparser treats % as interpolation, so URL-encoded passwords need %%.
    local escaped_uri="${database_uri//%/%%}"
    (
        umask 077
        cat >"$AUTH_DIR/basic_auth.ini" <<EOF
[mlflow]
default_permission = READ
database_uri = ${escaped_uri}
admin_username = ${username}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
EOF
    )
    export MLFLOW_AUTH_CONFIG_PATH="$AUTH_DIR/basic_auth.ini"
    export MLFLOW_AUTH_ADMIN_USERNAME="$username"
    SERVER_ARGS+=(--app-name basic-auth)
    log "basic authentication on, admin user '$username'."
}

remove_auth_dir() {
    if [[ -n "${AUTH_DIR:-}" ]]; then
        rm -rf -- "$AUTH_DIR"
    fi
}

# Run `mlflow server` as a child, so that the auth file can be removed after it stops, and
# forward SIGTERM and SIGINT to it. Background jobs of a script ignore SIGINT, so both are sent
# as SIGTERM, which `mlflow server` passes on to its uvicorn workers.
run_server() {
    python -m mlflow server "${SERVER_ARGS[@]}" &
    local server_pid=$!
    trap 'kill -TERM "$server_pid" 2>/dev/null || true' TERM INT
    local status=0
    wait "$server_pid" || status=$?
    # `wait` also returns when a trapped signal arrives: wait again until the server has exited.
    while kill -0 "$server_pid" 2>/dev/null; do
        status=0
        wait "$server_pid" || status=$?
    done
    log "mlflow server exited with status $status."
    return "$status"
}

main() {
    PORT="${PORT:-7860}"
    HOST="${HOST:-0.0.0.0}"
    check_port
    if [[ -z "${BACKEND_STORE_URI:-}" ]]; then
        fail "BACKEND_STORE_URI is missing: set it to postgresql://user:password@host:5432/db" \
            "(as a secret) or sqlite:///path/mlflow.db."
    fi
    # Two workers match the 2 vCPUs of the free "CPU Basic" Space hardware (Hub docs).
    local workers="${MLFLOW_SERVER_WORKERS:-2}"
    if [[ ! "$workers" =~ ^[1-9][0-9]*$ ]]; then
        fail "MLFLOW_SERVER_WORKERS='$workers' is not a positive integer."
    fi
    local auth_enabled
    auth_enabled="$(parse_bool MLFLOW_AUTH_ENABLED "${MLFLOW_AUTH_ENABLED:-}")"

    resolve_artifacts_destination
    resolve_allowed_hosts
    SERVER_ARGS=(
        --host "$HOST"
        --port "$PORT"
        --workers "$workers"
        --serve-artifacts
        --artifacts-destination "$ARTIFACTS_DESTINATION"
        --allowed-hosts "$ALLOWED_HOST_LIST"
        --x-frame-options "${MLFLOW_SERVER_X_FRAME_OPTIONS:-NONE}"
    )
    if [[ -n "$CORS_ORIGIN_LIST" ]]; then
        SERVER_ARGS+=(--cors-allowed-origins "$CORS_ORIGIN_LIST")
    fi
    trap remove_auth_dir EXIT
    if [[ "$auth_enabled" == true ]]; then
        configure_basic_auth
    fi

    # `mlflow server` reads the URI from this variable, which keeps the password out of `ps`.
    BACKEND_STORE_URI="$(with_psycopg2_driver "$BACKEND_STORE_URI")"
    export BACKEND_STORE_URI MLFLOW_BACKEND_STORE_URI="$BACKEND_STORE_URI"
    log "backend store: ${BACKEND_STORE_URI%%:*} database; artifacts: $ARTIFACTS_DESTINATION" \
        "(S3 endpoint: ${MLFLOW_S3_ENDPOINT_URL:-AWS default})."
    if ! python "$SCRIPT_DIR/schema.py"; then
        log "error: the backend store is not usable (see above), so the server was not started."
        exit 1
    fi
    log "starting mlflow server on $HOST:$PORT, allowed hosts $ALLOWED_HOST_LIST."
    run_server
}

main "$@"
