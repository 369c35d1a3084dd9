"""Worker processes for tests: `python worker.py` configured from the environment alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from riposte.audit.store import AuditStore, open_configured
from riposte.settings import Settings, TenantSettings

ROOT = Path(__file__).resolve().parent.parent


def worker_env(
    env: WorkflowEnvironment, tenant: TenantSettings, data_dir: Path, policies: Path, queue: str
) -> dict[str, str]:
    """Configuration for `python worker.py` from the environment alone, as in production."""
    tenant_json = tenant.model_dump(mode="json")
    secret = tenant.client_secret
    tenant_json["client_secret"] = secret.get_secret_value() if secret else None
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
        "RIPOSTE_DATA_DIR": str(data_dir),
        "RIPOSTE_POLICIES_DIR": str(policies),
        "RIPOSTE_TASK_QUEUE": queue,
        "RIPOSTE_TENANT": json.dumps(tenant_json),
        "RIPOSTE_LOG_FORMAT": "json",
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def workers_store(data_dir: Path) -> AuditStore:
    """The audit store the workers of `data_dir` write, opened under their key (a reader's)."""
    return open_configured(Settings(data_dir=data_dir), writer=False)
