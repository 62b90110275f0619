"""Domain errors: what went wrong, where, and which rule said so.

Every error the core raises on purpose is a :class:`LinxError`. The HTTP edge
turns one into the API's error body; the CLI prints it. ``status`` is the HTTP
status the error deserves, so the edge holds no table of its own.
"""
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``path`` is dotted (``parameters.amount``)."""

    path: str
    message: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "errorCode": self.code}


@dataclass
class LinxError(Exception):
    message: str
    code: str = "ERROR"
    status: int = 400
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message]
        lines += [f"  {p.path}: {p.message} [{p.code}]" for p in self.problems]
        return "\n".join(lines)


class InvalidRequest(LinxError):
    """The request's structure is wrong (HTTP 400)."""

    def __init__(self, message: str = "The request is malformed.", problems: Iterable[Problem] = (),
                 code: str = "INVALID_REQUEST") -> None:
        super().__init__(message, code, 400, list(problems))


class RuleViolation(LinxError):
    """The request is well formed but breaks a rule (HTTP 422)."""

    def __init__(self, message: str = "The request breaks the rules.", problems: Iterable[Problem] = (),
                 code: str = "RULE_VIOLATION") -> None:
        super().__init__(message, code, 422, list(problems))


class NotFound(LinxError):
    def __init__(self, message: str = "Not found.", code: str = "NOT_FOUND") -> None:
        super().__init__(message, code, 404)


class Conflict(LinxError):
    def __init__(self, message: str, code: str = "CONFLICT") -> None:
        super().__init__(message, code, 409)


class Unauthorized(LinxError):
    def __init__(self, message: str = "A valid API key is required.", code: str = "UNAUTHORIZED") -> None:
        super().__init__(message, code, 401)


class Forbidden(LinxError):
    """The caller is known but may not do this (HTTP 403): a read-only API key asked to write."""

    def __init__(self, message: str = "Not allowed.", code: str = "FORBIDDEN") -> None:
        super().__init__(message, code, 403)


class ProviderError(Exception):
    """A call to an outside provider (a channel, a rail) that did not work.

    ``permanent`` errors are final; others are retried, after ``retry_after`` seconds when given.
    """

    def __init__(self, code: object, reason: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = str(code)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class RuleFileError(LinxError):
    """A rule file itself is wrong: names the file, the place in it and the fault."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        problems = list(problems)
        super().__init__(
            f"{len(problems)} problem(s) in the rule files.", "RULE_FILE_INVALID", 500, problems
        )

    def __str__(self) -> str:
        return "\n".join(f"{p.path}: {p.message}" for p in self.problems)


class ConfigurationError(LinxError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "CONFIGURATION", 500)
