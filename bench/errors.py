"""Errors the CLI turns into exit codes (handbook: 1 measurement/verification failed, 2 bad usage or input)."""


class UsageError(ValueError):
    """Bad usage or bad input: the CLI prints the message on one line and exits 2."""


class MeasurementError(RuntimeError):
    """A measurement or verification failed: the CLI prints the message and exits 1."""


def choice_error(what: str, value, accepted) -> UsageError:
    """One-line error naming the bad value and the accepted ones."""
    return UsageError(f"unknown {what} {value!r}; accepted: {', '.join(map(str, accepted))}")
