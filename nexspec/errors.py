"""The one exception tree of nexspec, and the exit codes it maps to.

Core modules raise these and never print or exit; exactly two places translate
them: the HTTP client (foreign ``httpx`` errors become ``ApiError``) and the CLI
group (a ``NexspecError`` becomes a message and ``exit_code``)::

    NexspecError                 exit 1
    ├── UsageError               exit 2   bad arguments, missing project
    ├── SpecError                exit 1   invalid specs (carries diagnostics)
    ├── TemplateError            exit 1   a template file cannot be packed or read
    ├── LockError                exit 1   a corrupt or incompatible lock file
    │   └── LockHeldError        exit 1   another apply holds the lock
    ├── StalePlanError           exit 1   a saved plan no longer matches lock or specs
    ├── BackendError             exit 1   cannot choose or start a backend
    ├── ApiError                 exit 1   the API answered with an error
    │   └── ApiUnreachable       exit 1   the API could not be reached
    ├── RenderError              exit 1   a local renderer failed
    ├── JobsFailed               exit 1   apply ended with failed or unfinished jobs
    └── Interrupted              exit 130 Ctrl-C

Exit codes: 0 success, 1 expected failure, 2 usage error, 130 interrupted.
``plan --detailed-exitcode``: 0 no changes, 2 changes, 1 any error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nexspec.diagnostics import Diagnostic

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


class NexspecError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = EXIT_ERROR


class UsageError(NexspecError):
    """The command was called wrongly (bad argument, no project where one was named)."""

    exit_code = EXIT_USAGE


class SpecError(NexspecError):
    """One or more specs are invalid; ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        count = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"{count} error(s) in the specs")


class TemplateError(NexspecError):
    """A template file cannot be packed, hashed or introspected."""


class LockError(NexspecError):
    """The lock file is corrupt, of an unknown version, or cannot be written."""


class LockHeldError(LockError):
    """Another apply holds the project's lock."""


class StalePlanError(NexspecError):
    """A saved plan was made from a lock or specs that have changed since."""


class BackendError(NexspecError):
    """No backend can be chosen or started for this command."""


class ApiError(NexspecError):
    """The API answered with an error status.

    Carries what a user needs to report it: the request, the status, the
    server's own message and its ``X-Request-Id``. ``outcome_unknown`` is set when a
    request that creates something may or may not have taken effect.
    """

    outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.request_id = request_id
        super().__init__(message)


class ApiUnreachable(ApiError):
    """The API could not be reached (connection refused, timeout, dropped connection)."""


class RenderError(NexspecError):
    """A local renderer could not produce its output."""


class JobsFailed(NexspecError):
    """Apply finished, but some jobs failed, were cancelled or are still running."""


class Interrupted(NexspecError):
    """The user pressed Ctrl-C; what was done so far is recorded."""

    exit_code = EXIT_INTERRUPTED
