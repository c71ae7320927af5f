"""The error every dataset reader raises for bad input."""


class DatasetError(ValueError):
    """Bad dataset input; the message names the file (and line)."""
