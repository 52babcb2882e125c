"""End-to-end harness: starts the real `starling` binary on random loopback ports with a
temporary data directory. Clients are independent implementations (slixmpp) or raw sockets.

The binaries come from the environment (set by CTest): STARLING_BIN, STARLINGCTL_BIN.
"""
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

STARLING = os.environ.get("STARLING_BIN", os.path.join(os.path.dirname(__file__), "../../build/src/app/starling"))
STARLINGCTL = os.environ.get("STARLINGCTL_BIN", os.path.join(os.path.dirname(__file__), "../../build/src/app/starlingctl"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


class Server:
    """One running Starling. `extra` is TOML appended to the generated configuration."""

    def __init__(self, tmpdir, domains=("localhost",), extra="", c2s_extra="",
                 listen='["127.0.0.1:0"]', s2s_address="127.0.0.1", s2s_port=0, s2s_tls_port=0, s2s_extra=""):
        self.dir = tmpdir
        self.data_dir = os.path.join(tmpdir, "data")
        self.config = os.path.join(tmpdir, "starling.toml")
        self.domains = list(domains)
        doms = ", ".join('"%s"' % d for d in domains)
        with open(self.config, "w") as f:
            f.write(f'domains = [{doms}]\n'
                    f'data_dir = "{self.data_dir}"\n'
                    f'{extra}\n'
                    f'[c2s]\nlisten = {listen}\ndirect_tls = ["127.0.0.1:0"]\n'
                    f'auth_failure_delay_ms = 200\n{c2s_extra}\n'
                    f'[log]\nlevel = "debug"\n'
                    # s2s listeners on random ports too (a system XMPP server may hold 5269);
                    # `s2s_extra` may end with sub-tables such as [s2s.hosts].
                    f'[s2s]\nlisten = ["{s2s_address}:{s2s_port}"]\n'
                    f'direct_tls = ["{s2s_address}:{s2s_tls_port}"]\n{s2s_extra}\n')
        self.s2s_address = s2s_address
        self.s2s_port = None
        self.s2s_tls_port = None
        self.log_path = os.path.join(tmpdir, "starling.log")
        self.proc = None
        self.port = None
        self.tls_port = None

    def start(self, timeout=30):
        # Only what this run writes counts: on a restart the log already holds the old ports.
        offset = len(self.log())
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([STARLING, "--config", self.config],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log()[offset:]
            m1 = re.search(r"listening c2s on 127\.0\.0\.1:(\d+)", text)
            m2 = re.search(r"listening c2s-direct-tls on 127\.0\.0\.1:(\d+)", text)
            m3 = re.search(r"listening s2s on [0-9.]+:(\d+)", text)
            m4 = re.search(r"listening s2s-direct-tls on [0-9.]+:(\d+)", text)
            if m1 and m2 and "serving" in text:
                self.port, self.tls_port = int(m1.group(1)), int(m2.group(1))
                self.s2s_port = int(m3.group(1)) if m3 else None
                self.s2s_tls_port = int(m4.group(1)) if m4 else None
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("starling exited with %s:\n%s" % (self.proc.returncode, text))
            time.sleep(0.05)
        raise RuntimeError("starling did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code. Fails on sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("starling did not stop within %ss after SIGTERM" % timeout)
        rc = self.proc.returncode
        self.proc = None
        self._log.close()
        return rc

    def ctl(self, *args, input=None):
        return subprocess.run([STARLINGCTL, "--config", self.config, *args], input=input,
                              capture_output=True, text=True, timeout=60)

    def adduser(self, jid, password):
        r = self.ctl("adduser", jid, input=password + "\n")
        assert r.returncode == 0, r.stderr
        return jid


@pytest.fixture
def server_factory():
    """Makes servers; stops them at teardown and checks they exited cleanly."""
    made = []

    def make(**kw):
        tmp = tempfile.mkdtemp(prefix="starling-e2e-")
        s = Server(tmp, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        running = s.proc is not None
        rc = s.stop()
        log = s.log()
        for marker in SANITIZER_MARKERS:
            assert marker not in log, "sanitizer report in server log:\n" + log[-5000:]
        if running:
            assert rc == 0, "starling exited with %s after SIGTERM:\n%s" % (rc, log[-5000:])


@pytest.fixture
def server(server_factory):
    """A started server for `localhost` with accounts alice and bob (password 'secret')."""
    s = server_factory()
    s.adduser("alice@localhost", "secret")
    s.adduser("bob@localhost", "secret")
    return s.start()


# ---- raw socket helpers --------------------------------------------------------------------

class Raw:
    """A raw XML-over-TCP connection for malformed input and exact protocol checks."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv_until(self, pattern, timeout=None):
        """Reads until `pattern` (regex on the decoded text) matches; returns all text read."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            text = self.buf.decode(errors="replace")
            if re.search(pattern, text, re.S):
                return text
            remaining = deadline - time.time()
            if remaining <= 0:
                raise AssertionError("timed out waiting for %r; got %r" % (pattern, text))
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                text = self.buf.decode(errors="replace")
                if re.search(pattern, text, re.S):
                    return text
                raise AssertionError("connection closed waiting for %r; got %r" % (pattern, text))
            self.buf += chunk

    def closed_by_server(self, timeout=None):
        """True when the server closes the TCP connection within the timeout."""
        deadline = time.time() + (timeout or self.timeout)
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError, OSError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def starttls(self, server_hostname="localhost"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")


@pytest.fixture
def raw(server):
    conns = []

    def connect(port=None):
        c = Raw(port or server.port)
        conns.append(c)
        return c

    yield connect
    for c in conns:
        c.close()
