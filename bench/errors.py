"""Errors the CLI turns into exit codes (1: a measurement or verification failed; 2: bad usage or
bad input), and the helpers that make their one-line messages."""


class UsageError(ValueError):
    """Bad usage or bad input: the CLI prints the message on one line and exits 2."""


class MeasurementError(RuntimeError):
    """A measurement or verification failed: the CLI prints the message and exits 1."""


def choice_error(what: str, value, accepted) -> UsageError:
    """One-line error naming the bad value and the accepted ones."""
    return UsageError(f"unknown {what} {value!r}; accepted: {', '.join(map(str, accepted))}")


def shown(value, limit: int = 60) -> str:
    """A value as TOML-ish text for a one-line message (repr escapes newlines; long values cut)."""
    text = ("true" if value else "false") if type(value) is bool else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
