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
# What in a PromQL expression is not a metric name: strings, label matchers, ranges,
# the label lists of by/without/on/ignoring/group_*, numbers and durations (`1e-9`, `5m`).
_NOT_NAMES = re.compile(
    r'"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]'
    r"|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    r"|(?<![a-zA-Z_:])\d[\d.]*(?:e[+-]?\d+)?[a-z0-9]*"
)
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# PromQL's aggregations, keywords and functions (one string: a list would be 70 lines).
_PROMQL_WORDS_TEXT = (
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk "
    "and or unless bool offset inf nan "
    "abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month "
    "day_of_week day_of_year days_in_month delta deriv exp floor histogram_avg "
    "histogram_count histogram_fraction histogram_quantile histogram_sum idelta increase "
    "irate label_join label_replace ln log2 log10 minute month predict_linear rate resets "
    "round scalar sgn sort sort_desc sqrt time timestamp vector year avg_over_time "
    "min_over_time max_over_time sum_over_time count_over_time quantile_over_time "
    "stddev_over_time stdvar_over_time last_over_time present_over_time"
)
_PROMQL_WORDS = frozenset(_PROMQL_WORDS_TEXT.split())
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
    return {name for expr in expressions for name in promql_metric_names(expr)}


def promql_metric_names(expr: str) -> set[str]:
    """Every identifier of `expr` that is not a PromQL function, keyword or label name:
    the metric names it reads, a misspelled bare one included."""
    names = set(_IDENTIFIER.findall(_NOT_NAMES.sub(" ", expr)))
    return {name for name in names if name.lower() not in _PROMQL_WORDS}
