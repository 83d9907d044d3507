"""The product's exception tree; the CLI and the dashboard show these as plain messages.

FireRiskError
├── DataError          a data file is missing, malformed or unusable
├── FeatureError       features cannot be built for the requested dates or groups
├── TrainingError      a training run failed
├── TrackingError      the MLflow server is unreachable or refused a request
└── RegistryError      a promotion or rollback was refused or failed
"""


class FireRiskError(Exception):
    """Base class of every error this product raises on purpose."""


class DataError(FireRiskError):
    """A data file is missing, malformed or unusable; the message names the file and the fix."""


class FeatureError(FireRiskError):
    """Features cannot be built for the requested dates or feature groups."""


class TrainingError(FireRiskError):
    """A training run could not complete."""


class TrackingError(FireRiskError):
    """The MLflow server is unreachable or rejected a request."""


class RegistryError(FireRiskError):
    """A promotion or rollback was refused or failed."""
