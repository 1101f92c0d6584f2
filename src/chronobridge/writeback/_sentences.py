"""The sentences a caller reads about a write-back. Fixed text plus ids, statuses, model and
field *names* and rule names: never a value (they are stored in the plaintext `message`
column and printed by the CLI)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "adopted",
    "busy",
    "conflict",
    "denied",
    "done",
    "gave_up",
    "gone",
    "nothing_to_send",
    "reauth",
    "rejected",
    "retrying",
    "review",
    "unexpected",
]


def done(model: str, action: str, drchrono_id: str | None) -> str:
    verb = "Created" if action == "create" else "Updated"
    if model == "appointment":
        verb = "Booked" if action == "create" else "Updated"
    return f"{verb} {model} {drchrono_id} in DrChrono."


def adopted(model: str, drchrono_id: str, rules: Iterable[str] = ()) -> str:
    why = f" (rules: {', '.join(rules)})" if rules else ""
    return f"{model.capitalize()} {drchrono_id} already exists in DrChrono{why}; nothing created."


def review(patient_ids: Iterable[str], rules: Iterable[str], review_id: int) -> str:
    return (
        f"Possible match with patient {', '.join(patient_ids)} (rules: {', '.join(rules)}); "
        f"nothing created. Review it: chronobridge matches show {review_id}"
    )


def nothing_to_send(model: str) -> str:
    return f"Nothing to send: none of the changed {model} fields is written back to DrChrono."


def rejected(model: str, fields: Iterable[str]) -> str:
    names = ", ".join(f"{model}.{name}" for name in fields) or f"the {model}"
    return f"DrChrono rejected {names}; nothing changed. Fix those fields and send again."


def conflict(model: str, action: str) -> str:
    if model == "appointment":
        what = "booked" if action == "create" else "moved"
        return (
            "DrChrono refused: the time overlaps another appointment in that exam room; "
            f"nothing was {what}. Pick another time or room."
        )
    return f"DrChrono refused the {model} change as a conflict (409); nothing changed."


def gone(model: str, drchrono_id: str | None) -> str:
    return f"DrChrono has no {model} {drchrono_id or ''} (deleted?); nothing changed.".replace(
        "  ", " "
    )


def denied(model: str) -> str:
    return (
        f"DrChrono refused the {model} change: the connection lacks the scope or the user "
        "lacks the permission; nothing changed."
    )


def reauth() -> str:
    return (
        "The DrChrono connection must be authorized again (chronobridge connect); nothing changed."
    )


def retrying(status: int | None) -> str:
    answer = f"answered {status}" if status else "did not answer"
    return f"DrChrono {answer}; the change is queued and will be sent again."


def busy() -> str:
    return "Another worker is sending this change or creating the same patient; wait for it."


def gave_up(attempts: int) -> str:
    return f"DrChrono kept failing ({attempts} attempts); nothing is known to have changed."


def unexpected(status: int | None) -> str:
    answer = status or "no answer"
    return f"DrChrono answered unexpectedly ({answer}); nothing is known to have changed."
