"""The error types of the core library; each message names the problem and the fix."""


class PoseNetError(Exception):
    """Base class: a user-facing error with a one-line message."""


class InvalidImageError(PoseNetError):
    """The input is not a usable image (undecodable, truncated, empty, wrong layout, NaN)."""


class InvalidConfigError(PoseNetError, ValueError):
    """A parameter is out of range or of the wrong kind."""


class ModelError(PoseNetError):
    """Weights or an exported model are missing, corrupt or cannot be fetched."""


class BackendUnavailableError(PoseNetError):
    """The requested inference backend cannot run here (names what is missing)."""
