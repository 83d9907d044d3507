"""The MLflow tracking server and model registry: a local launcher and a Docker image.

`python -m mlflow_server` runs the server on this machine; `entrypoint.sh` is the image's
entrypoint, which the launcher also runs, and `schema.py` upgrades an outdated backend store.
"""
