"""The alert rules, the scrape config and the Grafana dashboard are valid and use real metrics."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import anbefal.common.metrics  # noqa: F401  (registers the metrics)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "anbefal-overview.json"
METRIC_NAME = re.compile(r"\b(anbefal_[a-z_]+)")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=PROMETHEUS, check=False)


def _exposed_names() -> set[str]:
    """Every sample name the services can expose (counters get _total, histograms _bucket ...)."""
    return {
        sample.name
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name.startswith("anbefal_")
    } | {m.name for m in REGISTRY.collect() if m.name.startswith("anbefal_")}


def _histogram_and_counter_names() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        if not metric.name.startswith("anbefal_"):
            continue
        names.add(metric.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
        names.update(metric.name + s for s in suffixes.get(metric.type, []))
    return names


def test_promtool_check_rules_passes(promtool: str) -> None:
    result = _run(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_check_config_passes(promtool: str) -> None:
    result = _run(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_drive_the_alerts(promtool: str) -> None:
    result = _run(promtool, "test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_broken_alert_expectation_fails_promtool(promtool: str, tmp_path: Path) -> None:
    """The unit test can fail: expecting the DLQ alert too early is reported as a failure."""
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    tests["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    tests["tests"][0]["alert_rule_test"][0]["exp_alerts"] = [
        {"exp_labels": {"severity": "warn", "group": "anbefal-scoring"}}
    ]
    broken = tmp_path / "broken_test.yml"
    broken.write_text(yaml.safe_dump(tests))
    result = _run(promtool, "test", "rules", str(broken))
    assert result.returncode != 0
    assert "AnbefalDeadLettersPending" in result.stdout + result.stderr


def test_alerts_cover_the_issue_and_use_only_exposed_metrics() -> None:
    rules = [
        rule
        for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    assert {r["alert"] for r in rules} >= {
        "AnbefalServiceDown",
        "AnbefalConsumerLagGrowing",
        "AnbefalDeadLettersPending",
        "AnbefalSlaBreaches",
        "AnbefalEmailFailures",
    }
    known = _histogram_and_counter_names() | _exposed_names()
    used = {name for r in rules for name in METRIC_NAME.findall(r["expr"])}
    assert used, "the rules use no anbefal metric"
    assert used <= known, f"alerts use unknown metrics: {sorted(used - known)}"


def test_dashboard_is_valid_json_with_the_expected_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    for expected in (
        "Service up",
        "HTTP requests per second",
        "HTTP latency p99",
        "Produce latency p99",
        "Records processed per second",
        "Consumer lag per partition",
        "Dead letters pending",
        "Tasks open and overdue",
        "SLA breaches (1h)",
        "Emails sent and failed per second",
        "Detractor answer to task p50 / p99",
    ):
        assert expected in titles
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    known = _histogram_and_counter_names()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in METRIC_NAME.findall(e)}
    assert used <= known, f"dashboard uses unknown metrics: {sorted(used - known)}"
