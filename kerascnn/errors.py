"""Errors that the command line reports as one line (no traceback)."""


class UsageError(ValueError):
    """Bad input from the user: a wrong argument, a missing file, unusable data.

    It subclasses ``ValueError`` so library callers can catch the usual type;
    the CLI prints ``kerascnn: error: <message>`` and exits with status 2.
    """


class DataNotFoundError(UsageError, FileNotFoundError):
    """A data set, model or file the user asked for could not be found."""
