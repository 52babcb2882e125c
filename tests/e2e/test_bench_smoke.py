"""starling-bench against the real server with tiny counts: every scenario runs, its JSON line
parses and no message is lost. Benchmarks are not tests: nothing here is timed.

The bench binary comes from STARLING_BENCH_BIN (set by CTest)."""
import json
import os
import subprocess

import pytest

BENCH = os.environ.get("STARLING_BENCH_BIN",
                       os.path.join(os.path.dirname(__file__), "../../build/src/app/starling-bench"))

OPEN = "[registration]\nallow = true\nthrottle_max = 0\n"


@pytest.fixture
def open_server(server_factory):
    return server_factory(extra=OPEN).start()


def bench(server, *args, port=None, expect_rc=0, users=5, password="secret"):
    cmd = [BENCH, "--host", "127.0.0.1", "--port", str(port or server.port),
           "--domain", "localhost", "--users", str(users), "--user-prefix", "smoke",
           "--password", password, "--threads", "2", "--timeout", "60",
           "--server-pid", str(server.proc.pid), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == expect_rc, "rc %s\nstdout:\n%s\nstderr:\n%s" % (
        r.returncode, r.stdout, r.stderr)
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return lines, r.stderr


def test_login_msg_idle_max(open_server):
    s = open_server
    [login], _ = bench(s, "--register", "login", "--count", "10")
    assert login["scenario"] == "login" and login["ok"] is True
    assert login["logins_ok"] == 10 and login["logins_failed"] == 0
    assert login["latency_ms"]["count"] == 10
    assert set(login["login_steps_ms"]) == {"connect", "tls", "register", "sasl", "bind", "roster",
                                            "presence"}
    assert isinstance(login["server_cpu_s"], float)
    assert login["server_rss_kib_after"] > 0

    [msg], _ = bench(s, "msg", "--rate", "50", "--duration", "2", "--drain", "5")
    assert msg["scenario"] == "msg" and msg["ok"] is True, msg
    assert msg["sessions"] == 5
    assert msg["sent"] >= 50 and msg["delivered"] == msg["sent"]
    assert msg["lost"] == 0 and msg["errors"] == 0 and msg["dropped"] == 0
    assert msg["latency_ms"]["count"] == msg["delivered"]
    assert msg["latency_ms"]["p50"] <= msg["latency_ms"]["max"]

    [idle], _ = bench(s, "idle", "--duration", "1")
    assert idle["scenario"] == "idle" and idle["ok"] is True
    assert idle["sessions"] == 5 and idle["dropped"] == 0
    assert "server_rss_kib_per_session" in idle

    [mx], _ = bench(s, "max", "--inflight", "2", "--duration", "1")
    assert mx["scenario"] == "max" and mx["ok"] is True, mx
    assert mx["lost"] == 0 and mx["delivered"] >= 4


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "PLAIN"])
def test_direct_tls_and_mechanisms(open_server, mech):
    s = open_server
    [login], _ = bench(s, "--register", "--tls", "direct", "--mech", mech, "login",
                       port=s.tls_port, users=3)
    assert login["ok"] is True and login["logins_ok"] == 3
    assert login["params"]["mech"] == mech and login["params"]["tls"] == "direct"


def test_wrong_password_fails_cleanly(open_server):
    s = open_server
    bench(s, "--register", "login", users=2)
    [login], _ = bench(s, "--step-timeout", "10", "login", users=2, expect_rc=1,
                       password="wrong")
    assert login["ok"] is False and login["logins_failed"] == 2
    assert "not-authorized" in login["first_error"]


def test_refuses_non_loopback_host():
    r = subprocess.run([BENCH, "--host", "10.0.0.1", "login"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 3
    assert "loopback" in r.stderr
    assert r.stdout == ""


def test_unknown_server_pid_is_an_error():
    r = subprocess.run([BENCH, "--port", "1", "--server-pid", "2147483647", "login"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "--server-pid" in r.stderr
