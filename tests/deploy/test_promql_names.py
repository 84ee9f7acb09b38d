"""The dashboard check reads every metric name of a PromQL expression, bare ones too,
and nothing that is a function, keyword, label, string, number or duration."""

from __future__ import annotations

import pytest

from tests.helpers.metrics import promql_metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("sum(agent_open_streamz)", {"agent_open_streamz"}),  # bare: no braces, no range
        ("agent_open_streams", {"agent_open_streams"}),
        (
            'sum by (job, route) (rate(http_requests_total{status=~"5..", x="a{b}"}[5m]))',
            {"http_requests_total"},
        ),
        (
            "rate(a_total[1h30m]) / on(job) group_left(team) clamp_min(b_total offset 5m, 1e-9)",
            {"a_total", "b_total"},
        ),
        ("histogram_quantile(0.99, sum without (pod) (rate(c_bucket[5m]))) > bool 2", {"c_bucket"}),
        ('label_replace(up, "dst", "$1", "src", "(.*)") unless Inf', {"up"}),
    ],
)
def test_every_metric_name_and_nothing_else(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names
