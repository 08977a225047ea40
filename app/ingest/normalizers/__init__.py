"""One pure normalizer per format: parsed payload → alert events (or InvalidPayload)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.ingest.normalizers import alertmanager, datadog, generic, grafana, newrelic, pagerduty
from app.ingest.normalizers.base import Event, FieldError, InvalidPayload, Normalized

NORMALIZERS: dict[str, Callable[[Any], Normalized]] = {
    "pagerduty": pagerduty.normalize,
    "alertmanager": alertmanager.normalize,
    "grafana": grafana.normalize,
    "datadog": datadog.normalize,
    "newrelic": newrelic.normalize,
    "generic": generic.normalize,
}

__all__ = ["NORMALIZERS", "Event", "FieldError", "InvalidPayload", "Normalized"]
