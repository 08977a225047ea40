"""The worker's /metrics: its own HTTP server, the SDK's task latencies, multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app import metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@activity.defn(name="metrics_probe")
async def probe() -> str:
    return "ok"


@workflow.defn(name="MetricsProbe", sandboxed=False)
class Probe:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            "metrics_probe", start_to_close_timeout=timedelta(seconds=10), result_type=str
        )


def _count(name: str, **labels: str) -> float:
    key = (f"{name}_count", tuple(sorted(labels.items())))
    return _samples(_scrape()).get(key, 0.0)


def _scrape() -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry()).decode()


async def test_sdk_task_latencies_reach_pagefree_histograms(ts_env: WorkflowEnvironment) -> None:
    runtime, buffer = metrics.sdk_runtime()
    client = await Client.connect(ts_env.client.service_client.config.target_host, runtime=runtime)
    before = _count("pagefree_workflow_task_latency_seconds", phase="execution")
    acts = _count("pagefree_activity_latency_seconds", activity="metrics_probe", phase="execution")
    queue = f"metrics-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[Probe], activities=[probe]):
        result = await client.execute_workflow("MetricsProbe", id=queue, task_queue=queue)
    assert result == "ok"
    metrics.drain_sdk_metrics(buffer)
    assert _count("pagefree_workflow_task_latency_seconds", phase="execution") >= before + 2
    assert _count("pagefree_workflow_task_latency_seconds", phase="schedule_to_start") >= 2
    got = _count("pagefree_activity_latency_seconds", activity="metrics_probe", phase="execution")
    assert got == acts + 1


async def test_worker_metrics_server_answers_scrapes_and_checks_the_token() -> None:
    server = metrics.serve_worker_metrics("127.0.0.1", 0, "worker-token")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            assert (await c.get("/metrics")).status_code == 401
            r = await c.get("/metrics", headers={"Authorization": "Bearer worker-token"})
            assert r.status_code == 200
            samples = _samples(r.text)
            assert ("pagefree_pages_total", ()) in samples
    finally:
        server.stop()


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    record = "from app import metrics; metrics.alerts_received('generic', 2)"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, check=True, cwd=Path.cwd())
    show = (
        "from prometheus_client import generate_latest; from app import metrics; "
        "print(generate_latest(metrics.registry()).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", show],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path.cwd(),
    ).stdout
    assert (
        _samples(out)[("pagefree_alerts_received_total", (("integration_type", "generic"),))] == 4
    )


def test_the_grafana_dashboard_queries_only_metrics_that_exist() -> None:
    import json
    import re

    from prometheus_client import REGISTRY

    dashboard = json.loads(Path("docs/grafana/pagefree-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"pagefree_[a-z_]+", e)}
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    known = {f.name + end for f in REGISTRY.collect() for end in suffixes}
    assert used and used <= known, used - known
