"""The one error tree of chronobridge.

    HubError
    ├── ConfigError                 (fatal)      settings or key file wrong
    ├── DecryptionFailed            (fatal)      a stored secret was altered or its key is gone
    ├── InvalidRequest              (fatal)      a call breaks a rule the catalog knows; not sent
    ├── TransportError              (retriable)  DrChrono unreachable, timeout, connection reset
    ├── ApiError                                 DrChrono answered with an error status
    │   ├── Unauthorized            (fatal)      401: token invalid, expired or revoked
    │   ├── PermissionDenied        (fatal)      403: scope or in-app permission missing
    │   ├── NotFound                (skippable)  404
    │   ├── MethodNotAllowed        (fatal)      405
    │   ├── ValidationFailed        (skippable)  400 with {field: [messages]}
    │   ├── Conflict                (skippable)  409: appointment overlap, locked note, duplicate
    │   ├── RateLimited             (retriable)  429: parked until DrChrono's named time
    │   ├── ServerError             (retriable)  5xx
    │   │   └── BatchFailed         (retriable)  an async batch ended Failed, Error or Canceled
    │   └── UnexpectedResponse      (fatal)      anything else (3xx, bad JSON)
    ├── OAuthError                               the authorization server refused
    │   ├── InvalidClient           (fatal)      wrong client id or secret
    │   ├── InvalidGrant            (fatal)      code expired or reused, refresh token revoked
    │   ├── AccessDenied            (fatal)      the user pressed Deny
    │   └── StateMismatch           (fatal)      callback `state` unknown, reused or expired
    ├── NeedsReconnect              (fatal)      the connection must be authorized again
    ├── BudgetExhausted             (retriable)  the app's hourly call budget is spent
    ├── MappingError                (skippable)  a record did not fit the field mapping
    ├── MappingFileInvalid          (fatal)      a mapping file breaks the format (a ConfigError)
    └── WebhookRejected             (fatal)      a delivery failed verification or validation

Classification is by mixin (`Retriable`, `Fatal`, `Skippable`), separate from the domain type.
Every message is a fixed sentence plus safe identifiers (method, path template, status, field
names): never a token, a secret, a request body or a patient's data. `hint` is one sentence
that names the fix, which the CLI prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class Retriable:
    """Trying again later can succeed."""


class Fatal:
    """Trying again will fail the same way until someone changes something."""


class Skippable:
    """This one item failed; the rest of the batch goes on."""


class HubError(Exception):
    """Something went wrong in chronobridge."""

    hint: str = "See the log for details."

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or type(self).__name__).strip())
        if hint is not None:
            self.hint = hint

    @property
    def retriable(self) -> bool:
        return isinstance(self, Retriable)

    @property
    def skippable(self) -> bool:
        return isinstance(self, Skippable)


class ConfigError(HubError, Fatal):
    """The configuration is incomplete or wrong."""

    hint = "Check the settings and environment variables (chronobridge --help)."


class InvalidRequest(HubError, Fatal):
    """The call breaks a rule of DrChrono's API that the catalog knows; nothing was sent."""

    hint = "Fix the call as the message says; chronobridge actions list shows each operation."


class DecryptionFailed(HubError, Fatal):
    """A stored secret could not be decrypted: it was altered, moved to another row, or
    encrypted with a key that is no longer configured."""

    hint = (
        "Restore the old key (CHRONOBRIDGE_ENCRYPTION_KEYS or the key file) next to the new one;"
        " if none is missing, the database was tampered with."
    )


class TransportError(HubError, Retriable):
    """DrChrono could not be reached."""

    hint = "Check the network and the DrChrono URL (CHRONOBRIDGE_DRCHRONO_URL), then try again."


class ApiError(HubError):
    """DrChrono answered with an error."""

    status: int = 0

    def __init__(
        self,
        message: str | None = None,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        detail: str = "",
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        self.detail = detail
        base = message or (type(self).__doc__ or "").strip()
        where = f" ({method} {path} -> {self.status})" if method else f" ({self.status})"
        super().__init__(base + where, hint=hint)


class Unauthorized(ApiError, Fatal):
    """DrChrono refused the access token."""

    status = 401
    hint = "Reconnect this user: chronobridge connect."


class PermissionDenied(ApiError, Fatal):
    """DrChrono refused: the token lacks the scope, or the user lacks the in-app permission."""

    status = 403
    hint = "Grant the scope when connecting, or give the user the permission in DrChrono."


class NotFound(ApiError, Skippable):
    """DrChrono has no such object."""

    status = 404
    hint = "Check the id; the object may have been deleted in DrChrono."


class MethodNotAllowed(ApiError, Fatal):
    """This path does not accept that method."""

    status = 405
    hint = "Use one of the methods listed by chronobridge actions list."


class ValidationFailed(ApiError, Skippable):
    """DrChrono rejected the fields sent."""

    status = 400
    hint = "Fix the fields named in the error and send again."

    def __init__(self, *, fields: Mapping[str, list[str]] | None = None, **kwargs: object) -> None:
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        names = ", ".join(sorted(self.fields)) or "the request"
        super().__init__(f"DrChrono rejected {names}", **kwargs)  # type: ignore[arg-type]


class Conflict(ApiError, Skippable):
    """DrChrono refused a conflicting change (overlapping appointment, locked note, duplicate)."""

    status = 409
    hint = "Pick another time, or pass allow_overlapping=true if the overlap is intended."


class RateLimited(ApiError, Retriable):
    """DrChrono's hourly request limit for this application is reached."""

    status = 429
    hint = "Wait for the window to reset; chronobridge budget shows the use."

    def __init__(self, *, retry_after: float, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)  # type: ignore[arg-type]


class ServerError(ApiError, Retriable):
    """DrChrono failed to answer (5xx)."""

    hint = "DrChrono is having trouble; the request is retried later."


class BatchFailed(ServerError):
    """DrChrono could not complete an async batch request."""

    hint = "Submit the batch again later; DrChrono's batch worker failed or cancelled it."


class UnexpectedResponse(ApiError, Fatal):
    """DrChrono's answer was not what the API promises."""

    hint = "Report this with the API log entry; chronobridge api-log shows it."


class OAuthError(HubError, Fatal):
    """DrChrono's authorization server refused."""

    code: str = ""


class InvalidClient(OAuthError):
    """DrChrono does not recognise this client id and secret."""

    code = "invalid_client"
    hint = "Copy the client id and secret again from DrChrono's API page (chronobridge apps add)."


class InvalidGrant(OAuthError):
    """The authorization code or refresh token is no longer valid."""

    code = "invalid_grant"
    hint = "Run chronobridge connect again to authorize this user."


class AccessDenied(OAuthError):
    """The user declined to authorize the application."""

    code = "access_denied"
    hint = "Run chronobridge connect again and choose Authorize on DrChrono's page."


class RedirectMismatch(OAuthError):
    """DrChrono refused the redirect URI."""

    code = "invalid_request"
    hint = (
        "Register the exact redirect URI on DrChrono's API page, or fix CHRONOBRIDGE_REDIRECT_URI."
    )


class StateMismatch(OAuthError):
    """The authorization callback does not belong to a flow this hub started."""

    code = "invalid_state"
    hint = "Start again with chronobridge connect; each authorization link works once."


class NeedsReconnect(HubError, Fatal):
    """This connection's authorization was withdrawn or lost."""

    hint = "Run chronobridge connect again for this user."


class BudgetExhausted(HubError, Retriable):
    """The application's hourly API budget is spent for this priority."""

    hint = "Wait for the next hour, or lower the sync frequency; chronobridge budget shows the use."

    def __init__(self, message: str | None = None, *, resume_at: datetime) -> None:
        self.resume_at = resume_at
        super().__init__(message)


class MappingError(HubError, Skippable):
    """A record did not fit the field mapping."""

    hint = "Fix the mapping, then run chronobridge errors retry."

    def __init__(
        self,
        message: str | None = None,
        *,
        model: str = "",
        field: str = "",
        rule: str = "",
        hint: str | None = None,
    ) -> None:
        self.model = model
        self.field = field
        self.rule = rule
        super().__init__(message, hint=hint)


class MappingFileInvalid(ConfigError):
    """The mapping file is not valid."""

    hint = "Fix the mapping file where the message says, then load it again."

    def __init__(self, reason: str, *, origin: str = "", line: int = 0, where: str = "") -> None:
        self.reason = reason
        self.origin = origin or "mapping file"
        self.line = line
        self.where = where
        at = f"{self.origin}, line {line}" if line else self.origin
        super().__init__(f"{at}: {where}: {reason}" if where else f"{at}: {reason}")


class WebhookRejected(HubError, Fatal):
    """A webhook delivery failed verification or validation."""

    hint = "Check the webhook secret on DrChrono's API page matches CHRONOBRIDGE_WEBHOOK_SECRET."

    def __init__(self, message: str | None = None, *, status: int = 400) -> None:
        self.status = status
        super().__init__(message)
