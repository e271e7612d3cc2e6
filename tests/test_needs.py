"""A test that needs a missing system program skips with one line saying what to install, and
fails instead under SISRA_REQUIRE_SYSTEM=1 (CI): `make test` passes on a fresh machine set up
as the README says, and CI never goes green by skipping.

Each case runs pytest on a real test of the suite in a child process, with the program made to
look missing (``SISRA_TEST_PRETEND_MISSING``): the fixture, marker or module that needs it
must refuse before starting anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    # a session fixture (the Postfix and Dovecot pair)
    (
        "postfix",
        "tests/platform/mssante/test_mail_servers.py::"
        "test_the_relay_refuses_a_client_without_certificate",
        "apt-get install postfix dovecot-core dovecot-imapd dovecot-lmtpd",
    ),
    # a module marker (SoftHSM2 cards)
    (
        "softhsm",
        "tests/platform/test_cps_login.py::test_card_enrolment_gives_a_working_device",
        "apt-get install softhsm2",
    ),
    # the browser (Playwright's launch arguments)
    (
        "chromium",
        "tests/web/test_api_docs.py::test_docs_render_from_own_assets_with_no_csp_violation",
        "apt-get install chromium",
    ),
]


def _run(require: bool) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SISRA_REQUIRE_SYSTEM", "SISRA_TEST_DATABASE_URL", "PYTEST_ADDOPTS")
    }
    env["SISRA_TEST_PRETEND_MISSING"] = ",".join(program for program, _, _ in CASES)
    if require:
        env["SISRA_REQUIRE_SYSTEM"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + [node for _, node, _ in CASES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_missing_program_skips_with_what_to_install() -> None:
    result = _run(require=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CASES)} skipped" in result.stdout, result.stdout
    # one summary line per missing program at the end of the run
    summary = result.stdout.split("programmes système manquants", 1)[1]
    for _, _, install in CASES:
        assert install in summary, result.stdout


def test_a_missing_program_fails_where_it_is_required() -> None:
    result = _run(require=True)
    assert result.returncode != 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "skipped" not in last and ("failed" in last or "error" in last), result.stdout
    for _, _, install in CASES:
        assert install in result.stdout, result.stdout
