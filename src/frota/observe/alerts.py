"""Alerts through apprise (one URL per channel: `mailto://`, `tgram://`, `slack://`,
`msteams://`, `json://`…): one message when a problem starts, none while it lasts, one when
it clears.

A problem is a key (`landing`, `source:pc-frota`, `rejected:<batch id>`, `failed:load`…) and a
message saying what, where, since when and the next step. The problems known to be open live
in `<log_dir>/frota-alerts.json` on each machine, with the messages a channel did not take
(sent again first, next time) and a count of failed deliveries. Whoever reports problems says
which keys it judged (its scope): only those can clear. An alert channel that is down never
changes a step's result: the failure is logged and counted.

The URLs are secrets: never printed, never written to the state file (a channel is named by
its number and scheme, and kept in the state by a hash).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from frota.config import Settings
from frota.errors import ConfigError, MissingExtra
from frota.i18n import _
from frota.observe.log import logger
from frota.observe.runstore import utcnow
from frota.redact import redact
from frota.thresholds import describe_duration

STATE_FILE = "frota-alerts.json"
# Set (True) on an exception whose failure frota has alerted on, so that a scheduler's own
# failure hook (the Airflow DAG's) does not alert a second time.
ALERTED = "frota_alerted"
RUNBOOK = "docs/operations.md#health-checks"
MAX_PENDING = 50  # per channel: older undelivered messages are dropped (and counted)
# The next step for problems whose reporter gave none, by the key's first part.
HINTS = {
    "failed": "see `frota runs show <run id>` and the log; the next scheduled run tries again",
    "rejected": "`frota batch show <id>` says why; fix the data and `frota batch retry <id>`, "
    "or publish it again and `frota batch reject <id>` to acknowledge the old one",
}


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise MissingExtra("apprise", "alerts") from None
    return apprise


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def channel_name(index: int, url: str) -> str:
    """How a channel is shown: its number and scheme, never its URL (a secret)."""
    return f"channel {index} ({_scheme(url)})"


@contextmanager
def _quiet_apprise() -> Iterator[Any]:
    """Apprise's own log lines quote URLs: capture them (they are redacted before use)."""
    import apprise

    with apprise.LogCapture(level=logging.WARNING) as captured:
        yield captured


@dataclass(frozen=True)
class Problem:
    """Something wrong, as a person should read it in an alert."""

    key: str
    summary: str  # what
    severity: str = "CRITICAL"
    hint: str | None = None  # the next step


@dataclass
class Delivery:
    """What one round of alerting sent."""

    started: list[str] = field(default_factory=list)  # problem keys that started
    cleared: list[str] = field(default_factory=list)
    sent: int = 0  # messages a channel took
    failed: int = 0  # messages a channel did not take (kept for the next time)


def _digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


class AlertState:
    """`<log_dir>/frota-alerts.json`, read and written under a lock."""

    def __init__(self, log_dir: str | Path) -> None:
        self.path = Path(log_dir) / STATE_FILE
        self.lock = FileLock(str(self.path) + ".lock", timeout=120)
        self.data: dict[str, Any] = {"problems": {}, "pending": {}, "failed_deliveries": 0}

    def load(self) -> None:
        try:
            self.data.update(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except ValueError:
            logger.warning("%s was not valid JSON; alert state starts afresh", self.path)

    def save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @property
    def problems(self) -> dict[str, dict[str, Any]]:
        return self.data["problems"]


class Notifier:
    """Sends messages to the settings' channels; what a channel does not take waits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = settings.alert_urls()
        self.secrets = settings.secret_values()

    def where(self) -> str:
        s = self.settings
        return (
            f"host {socket.gethostname()}; landing {redact(str(s.landing), self.secrets)}; "
            f"database {redact(s.database, self.secrets)}"
        )

    def _send(self, index: int, url: str, title: str, body: str) -> bool:
        apprise = _apprise()
        channel = apprise.Apprise()
        with _quiet_apprise() as captured:
            channel.add(url)
            ok = bool(channel.notify(title=title, body=body))
        if not ok:
            reason = " | ".join(captured.getvalue().strip().splitlines()[-2:]) or "no reason given"
            logger.warning(
                "alert %s did not take the message (%s); it will be sent again next time",
                channel_name(index, url),
                redact(reason, self.secrets),
            )
        return ok

    def deliver(self, state: AlertState, messages: list[tuple[str, str]], out: Delivery) -> None:
        """Send what waits from earlier rounds, then `messages`, to every channel; keep what a
        channel does not take for the next round."""
        pending: dict[str, list[dict[str, str]]] = state.data.setdefault("pending", {})
        for index, url in enumerate(self.urls, 1):
            queue = pending.get(_digest(url), []) + [{"title": t, "body": b} for t, b in messages]
            left: list[dict[str, str]] = []
            for message in queue:
                # In order: once a channel fails, the rest waits behind the failed message.
                if not left and self._send(index, url, message["title"], message["body"]):
                    out.sent += 1
                else:
                    left.append(message)
            out.failed += len(left)
            if len(left) > MAX_PENDING:
                logger.warning(
                    "alert %s: %d undelivered message(s) dropped (the oldest)",
                    channel_name(index, url),
                    len(left) - MAX_PENDING,
                )
                left = left[-MAX_PENDING:]
            pending[_digest(url)] = left
        # Channels no longer configured: their waiting messages go.
        known = {_digest(u) for u in self.urls}
        state.data["pending"] = {k: v for k, v in pending.items() if k in known and v}
        state.data["failed_deliveries"] = state.data.get("failed_deliveries", 0) + out.failed

    # ------------------------------------------------------------ messages

    def started(self, problem: Problem, since: datetime) -> tuple[str, str]:
        title = f"frota {problem.severity}: {problem.summary}"
        body = "\n".join(
            [
                f"What: {problem.summary}",
                f"Where: {problem.key} — {self.where()}",
                f"Since: {since:%Y-%m-%d %H:%M} UTC",
                f"Next step: {self._hint(problem)} (runbook: {RUNBOOK})",
            ]
        )
        return self._clean(title, body)

    @staticmethod
    def _hint(problem: Problem) -> str:
        return problem.hint or HINTS.get(problem.key.split(":")[0], "see the runbook")

    def cleared(self, key: str, was: dict[str, Any], now: datetime) -> tuple[str, str]:
        since = datetime.fromisoformat(was["since"])
        title = f"frota OK: cleared: {was['summary']}"
        body = "\n".join(
            [
                f"Cleared: {was['summary']}",
                f"Where: {key} — {self.where()}",
                f"Lasted: {describe_duration((now - since).total_seconds())} "
                f"(since {since:%Y-%m-%d %H:%M} UTC, cleared {now:%Y-%m-%d %H:%M} UTC)",
            ]
        )
        return self._clean(title, body)

    def _clean(self, title: str, body: str) -> tuple[str, str]:
        title = redact(title, self.secrets)
        return (title if len(title) <= 200 else title[:199] + "…"), redact(body, self.secrets)


def _state(settings: Settings) -> AlertState:
    state = AlertState(settings.log_dir)
    try:
        state.path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            _("log_dir {log_dir} cannot be created: {strerror}").format(
                log_dir=settings.log_dir, strerror=exc.strerror
            ),
            hint=_("set log_dir to a folder this user can write (the alert state lives there)"),
        ) from None
    return state


def report_problems(
    settings: Settings, problems: Iterable[Problem], judged: Callable[[str], bool]
) -> Delivery:
    """Alert on problems that started and on those that cleared. `judged(key)` says which keys
    the caller looked at: an open problem it judged and did not report has cleared; the
    others are left as they are. Never raises: a failure to alert is logged."""
    out = Delivery()
    if not settings.alerts:
        return out
    try:
        _report(settings, list(problems), judged, out)
    except Exception as exc:  # an alert must never change a step's result
        logger.warning("alerts could not be sent: %s", redact(str(exc), settings.secret_values()))
    return out


def _report(
    settings: Settings, problems: list[Problem], judged: Callable[[str], bool], out: Delivery
) -> None:
    notifier, state, now = Notifier(settings), _state(settings), utcnow()
    with state.lock:
        state.load()
        open_ = state.problems
        current = {p.key: p for p in problems}
        messages = []
        for key, problem in current.items():
            if key not in open_:
                since = now
                open_[key] = {
                    "since": since.isoformat(),
                    "summary": problem.summary,
                    "severity": problem.severity,
                }
                messages.append(notifier.started(problem, since))
                out.started.append(key)
        for key in [k for k in open_ if k not in current and judged(k)]:
            messages.append(notifier.cleared(key, open_.pop(key), now))
            out.cleared.append(key)
        notifier.deliver(state, messages, out)
        state.save()
    for key in out.started:
        logger.warning("alert sent: problem %s started: %s", key, current[key].summary)
    for key in out.cleared:
        logger.info("alert sent: problem %s cleared", key)


def send_test(settings: Settings) -> Delivery:
    """`frota alerts test`: one message to every channel now (and whatever waits)."""
    if not settings.alerts:
        raise ConfigError(
            _("no alert channel configured"),
            hint=_(
                "set FROTA_ALERTS to one or more apprise URLs (or `alerts` in the secrets file)"
            ),
        )
    notifier, state, out = Notifier(settings), _state(settings), Delivery()
    title = "frota test alert"
    body = f"A test message from frota ({notifier.where()}). Alerts reach you."
    with state.lock:
        state.load()
        notifier.deliver(state, [(title, body)], out)
        state.save()
    return out


def open_problems(settings: Settings) -> dict[str, dict[str, Any]]:
    """The problems this machine has alerted on and not seen clear."""
    state = AlertState(settings.log_dir)
    state.load()
    return dict(state.problems)


def failed_deliveries(settings: Settings) -> int:
    """Messages a channel did not take, counted since the state file began (for metrics)."""
    state = AlertState(settings.log_dir)
    state.load()
    return int(state.data.get("failed_deliveries", 0))


def report_check(settings: Settings, report: Any) -> Delivery:
    """Alert on the problems of a `frota check` report (frota.observe.check.Report): a check
    that could judge (not UNKNOWN) clears what it no longer finds."""
    problems = [
        Problem(key, summary, r.status, r.hint)
        for r in report.results
        for key, summary in r.problems.items()
    ]
    judged = {r.name for r in report.results if r.status != "UNKNOWN"}
    return report_problems(
        settings, problems, lambda key: key in judged or key.split(":")[0] in judged
    )
