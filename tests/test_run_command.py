"""The README's first command: `crm run` starts its own PostgreSQL and Redis, migrates, loads demo data,
serves web + worker, and stops everything on SIGTERM."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.http import free_port


def test_crm_run_serves_the_demo_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_DATA_DIR"] = str(tmp_path / "data")  # where every crm command finds the embedded default
    crm = str(Path(sys.executable).parent / "crm")
    proc = subprocess.Popen(
        [crm, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    printed: list[str] = []

    # One reader owns the pipe to the end. (Iterating proc.stdout reads ahead into Python's buffer and
    # communicate() then reads the raw pipe: under load the lines after the URL came in the same chunk
    # and were lost, which made this test flaky.)
    def read_all():
        for line in proc.stdout:
            printed.append(line)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300  # the URL is printed once the server answers, not before
        while not any("is running at" in line for line in printed) and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(printed)
            time.sleep(0.2)
        assert any("is running at" in line for line in printed), "".join(printed)
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/login", timeout=5) as response:
            page = response.read().decode()
        assert "Staff sign-in" in page and "sandbox identity provider" in page
        with urllib.request.urlopen(
            f"{base}/sandbox/oidc/.well-known/openid-configuration", timeout=5
        ) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/register", timeout=5) as response:
            assert "Open a trading account" in response.read().decode()
        mail = tmp_path / "data" / "mail"
        deadline = time.monotonic() + 60
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list(mail.glob("*.eml")), "the worker's e-mails reach the sandbox mailbox"
        # Other commands find the running embedded default with no setting (README: demo-code, audit).
        code = subprocess.run(
            [crm, "demo-code", "admin@demo.example"], env=env, capture_output=True, text=True
        )
        assert code.returncode == 0 and "not enrolled yet" in code.stdout, code.stdout + code.stderr
        verify = subprocess.run([crm, "audit", "verify"], env=env, capture_output=True, text=True)
        assert verify.returncode == 0 and '"ok": true' in verify.stdout, verify.stdout + verify.stderr
        checkpoint = subprocess.run([crm, "audit", "checkpoint"], env=env, capture_output=True, text=True)
        assert checkpoint.returncode == 0 and '"head_hash"' in checkpoint.stdout, checkpoint.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=30)
        output = "".join(printed)
    assert proc.returncode == 0, output
    assert "admin@demo.example" in output and "/sandbox/mail" in output
    assert re.search(r"demo data: 8 teams, 18 users, 48 clients, [1-9]\d sample leads added", output), output
    assert re.search(r"watchlists: ofac_sdn \d+ entries, pep_wikidata \d+ entries", output), output
    # With crm run stopped, a command starts the embedded default for itself and stops it again.
    verify = subprocess.run([crm, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and '"ok": true' in verify.stdout, verify.stdout + verify.stderr
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "data")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", "a server started by crm run is still running"
