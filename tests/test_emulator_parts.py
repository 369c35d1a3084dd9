"""The emulator's parts without a shared server: OData filters, fault specs, seeds, TLS, CLI."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from riposte.cli import run
from riposte.errors import InvalidInput
from tenant_emulator.client import trusting
from tenant_emulator.errors import GraphError
from tenant_emulator.faults import parse_fault
from tenant_emulator.odata import parse_filter
from tenant_emulator.seed import parse_seed, resolve_time
from tenant_emulator.server import start_emulator

MESSAGE = {
    "subject": "It's here",
    "sentDateTime": "2024-06-09T09:12:00Z",
    "from": {"emailAddress": {"address": "Ben@Contoso.com"}},
    "isRead": False,
    "flag": None,
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("from/emailAddress/address eq 'ben@contoso.com'", True),
        ("subject eq 'It''s here'", True),
        ("sentDateTime ge 2024-06-09T00:00:00Z and sentDateTime lt 2024-06-10T00:00:00Z", True),
        ("sentDateTime gt 2024-06-09T09:12:00Z", False),
        ("isRead eq true or (subject ne 'x' and flag eq null)", True),
        ("missing/path eq 'a'", False),
    ],
)
def test_filter_evaluates_graph_expressions(expression: str, expected: bool) -> None:
    """$filter handles paths, quoting, date-times, and/or, parentheses and null."""
    assert parse_filter(expression)(MESSAGE) is expected


@pytest.mark.parametrize(
    "expression", ["subject", "subject eq", "startswith(subject,'a')", "(a eq 1"]
)
def test_filter_refuses_what_it_cannot_read(expression: str) -> None:
    """A filter the emulator cannot evaluate is Graph's 400, never silently ignored."""
    with pytest.raises(GraphError) as caught:
        parse_filter(expression)
    assert caught.value.status == 400


def test_fault_spec_from_command_line() -> None:
    """ROUTE=SPEC reads a status, deny, and key=value options."""
    fault = parse_fault("graph.users.patch=429,retry_after=2,count=3,fraction=0.5")
    assert (fault.route, fault.status, fault.retry_after, fault.count, fault.fraction) == (
        "graph.users.patch",
        429,
        2.0,
        3,
        0.5,
    )
    assert parse_fault("PATCH /v1.0/users/*=deny").deny is True
    with pytest.raises(InvalidInput):
        parse_fault("graph.users.patch=deny,503")


def test_seed_errors_name_the_field() -> None:
    """A malformed seed is refused with the path of the bad field."""
    with pytest.raises(InvalidInput, match=r"nsgs\.0\.protects"):
        parse_seed({"nsgs": [{"name": "n", "resource_group": "rg"}]})


def test_seed_times_are_offsets_or_iso() -> None:
    """Seed times are offsets from load time ("-1d2h") or ISO 8601."""
    now = dt.datetime(2024, 6, 9, 12, 0, tzinfo=dt.UTC)
    assert resolve_time("-1d2h", now) == dt.datetime(2024, 6, 8, 10, 0, tzinfo=dt.UTC)
    assert resolve_time("2024-06-01T00:00:00Z", now).day == 1
    with pytest.raises(ValueError, match="offset"):
        resolve_time("yesterday", now)


def test_local_ca_is_reused_across_starts(tmp_path: Path) -> None:
    """The CA is made on first start and reused, so a client trusting it keeps working."""
    with start_emulator(tmp_path) as first:
        ca = first.ca_path.read_bytes()
    with start_emulator(tmp_path) as second:
        assert second.ca_path.read_bytes() == ca
        with httpx.Client(verify=trusting(second.ca_path)) as http:
            assert http.get(f"{second.url}/_emulator/calls").json() == {}


def test_cli_refuses_bad_fault_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`riposte emulator --fault` with a malformed spec exits 2 and starts nothing."""
    code = run(["emulator", "--data-dir", str(tmp_path), "--port", "0", "--fault", "nonsense"])
    assert code == 2
    assert "ROUTE=SPEC" in capsys.readouterr().err


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    """`riposte emulator` prints its URL, serves the seam over HTTPS, and exits 0 when stopped."""
    command = [
        str(Path(sys.executable).parent / "riposte"),
        "emulator",
        "--data-dir",
        str(tmp_path),
        "--port",
        "0",
        "--fault",
        "graph.users.get=503",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            url = first_line.split(" listening on ")[1].split()[0]
            with httpx.Client(verify=trusting(tmp_path / "emulator-ca.pem")) as http:
                faults = http.get(f"{url}/_emulator/faults").json()
            assert [f["route"] for f in faults] == ["graph.users.get"]
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=15)
            process.stdout.close() if process.stdout else None
    assert code == 0


@pytest.mark.parametrize("command", ["emulator", "dev"])
def test_cli_says_when_the_emulator_is_not_installed(tmp_path: Path, command: str) -> None:
    """Without the tenant_emulator package (as in the production image), `riposte emulator` and
    `riposte dev` exit 1 with one sentence saying how to install it, not an ImportError."""
    script = (
        "import sys; sys.modules['tenant_emulator'] = None; "
        "from riposte.cli import run; "
        f"sys.exit(run([{command!r}, '--data-dir', {str(tmp_path)!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "tenant emulator (package tenant_emulator) is not installed" in done.stderr
    assert "make setup" in done.stderr
    assert "Traceback" not in done.stderr
