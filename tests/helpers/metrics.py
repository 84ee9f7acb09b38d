"""Reading the services' Prometheus metrics in tests: scrape, sum samples, list names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).parents[2] / "deploy/observability/grafana/dashboards/chatkit.json"
# A metric selector in PromQL: its name, then its labels or its range.
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


def scrape(client: httpx.Client, url: str) -> list[Metric]:
    response = client.get(f"{url}/metrics")
    assert response.status_code == 200, f"{url}/metrics: {response.status_code}"
    return list(text_string_to_metric_families(response.text))


def total(families: Iterable[Metric], sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels`."""
    return sum(
        s.value
        for family in families
        for s in family.samples
        if s.name == sample and labels.items() <= s.labels.items()
    )


def exported_names(families: Iterable[Metric]) -> set[str]:
    """Every series name the families can have, samples seen yet or not."""
    names: set[str] = set()
    for family in families:
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
    return names


def dashboard_metric_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return {name for expr in expressions for name in _SELECTOR.findall(expr)}
