"""Operating the server: signals (SIGTERM, SIGHUP), server-to-client pings, starlingctl, config
errors and the zero-configuration start."""
import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from clients import Client, login, raw_session, run
from conftest import HEADER, STARLING, STARLINGCTL


@contextlib.contextmanager
def time_limit(seconds):
    """Fails the test (AssertionError raised in the main thread) once `seconds` have passed."""
    def on_alarm(_sig, _frame):
        raise AssertionError("test took longer than %ss" % seconds)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def wait_for_log(server, pattern, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(pattern, server.log()):
            return
        time.sleep(0.05)
    raise AssertionError("log never matched %r:\n%s" % (pattern, server.log()[-3000:]))


# ---- SIGTERM -----------------------------------------------------------------------------------

def test_sigterm_sends_system_shutdown_to_every_stream(server):
    clients = [raw_session(server.port, "alice", resource="one")[0],
               raw_session(server.port, "bob", resource="two")[0],
               raw_session(server.tls_port, "alice", resource="three", direct_tls=True)[0]]
    try:
        t0 = time.time()
        server.signal(signal.SIGTERM)
        for c in clients:
            text = c.recv_until(r"</stream:stream>", timeout=10)
            # RFC 6120 §4.9.3.22, then the closing tag (§4.4).
            assert re.search(r"<stream:error><system-shutdown "
                             r"xmlns=['\"]urn:ietf:params:xml:ns:xmpp-streams['\"]\s*/>", text), text
            assert text.index("system-shutdown") < text.index("</stream:stream>")
            c.send("</stream:stream>")
        for c in clients:
            assert c.closed_by_server(timeout=10)
        rc = server.stop()
        assert rc == 0
        assert time.time() - t0 < 10
        assert "received signal" in server.log()
    finally:
        for c in clients:
            c.close()


def test_sigterm_with_clients_that_never_close(server):
    """Clients that ignore the shutdown do not keep the server alive for long."""
    clients = [raw_session(server.port, "alice", resource="r%d" % i)[0] for i in range(3)]
    try:
        t0 = time.time()
        server.signal(signal.SIGTERM)
        for c in clients:
            c.recv_until(r"system-shutdown.*</stream:stream>", timeout=10)
        assert server.stop() == 0
        assert time.time() - t0 < 15
    finally:
        for c in clients:
            c.close()


def test_sigterm_reaches_streams_still_negotiating(server, raw):
    """Streams that have not authenticated yet (pre-TLS, TLS without a stream header) get the
    stream error too: RFC 6120 §4.9.1.2 has the server open its stream first."""
    pre_tls = raw()
    pre_tls.send(HEADER)
    pre_tls.recv_until(r"</stream:features>")
    silent_tls = raw(server.tls_port)
    silent_tls.starttls()
    time.sleep(0.2)
    server.signal(signal.SIGTERM)
    for c in (pre_tls, silent_tls):
        text = c.recv_until(r"</stream:stream>", timeout=10)
        assert "<system-shutdown" in text, text
        assert re.search(r"<stream:stream\b[^>]*from=['\"]localhost['\"]", text), text
    assert server.stop() == 0


def test_sigterm_with_slixmpp_clients(server):
    async def body():
        cs = [await login("alice@localhost/s%d" % i, server.port) for i in range(3)]
        server.signal(signal.SIGTERM)
        reasons = await asyncio.wait_for(asyncio.gather(*(c.ended for c in cs)), 10)
        for c in cs:
            assert any(e["condition"] == "system-shutdown" for e in c.stream_errors), c.stream_errors
        return reasons
    run(body(), 30)
    assert server.stop() == 0


# ---- SIGHUP: certificate reload ----------------------------------------------------------------

def make_cert(cert, key, cn, san="DNS:localhost"):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=%s" % cn, "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True, timeout=60)


def fingerprint(port, starttls=False):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        if starttls:
            s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
            buf = b""
            while b"</stream:features>" not in buf:
                chunk = s.recv(4096)
                assert chunk, buf
                buf += chunk
            s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            buf = b""
            while b"<proceed" not in buf:
                chunk = s.recv(4096)
                assert chunk, buf
                buf += chunk
        t = ctx.wrap_socket(s, server_hostname="localhost")
        der = t.getpeercert(binary_form=True)
        t.close()
        return hashlib.sha256(der).hexdigest()
    finally:
        s.close()


def cert_fingerprint(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def tls_server(server_factory):
    d = tempfile.mkdtemp(prefix="starling-e2e-cert-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    make_cert(cert, key, "first")
    s = server_factory(extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key))
    s.adduser("alice@localhost", "secret")
    s.start()
    s.cert, s.key, s.cert_dir = cert, key, d
    yield s
    shutil.rmtree(d, ignore_errors=True)


def test_sighup_reloads_certificate(tls_server):
    s = tls_server
    first = cert_fingerprint(s.cert)
    assert fingerprint(s.tls_port) == first
    assert fingerprint(s.port, starttls=True) == first
    # A session made before the reload.
    old_session, _ = raw_session(s.port, "alice", resource="before")
    try:
        # Replace the files (as certbot would) and reload.
        d = s.cert_dir
        make_cert(os.path.join(d, "new.pem"), os.path.join(d, "newkey.pem"), "second")
        os.replace(os.path.join(d, "newkey.pem"), s.key)
        os.replace(os.path.join(d, "new.pem"), s.cert)
        second = cert_fingerprint(s.cert)
        assert second != first
        s.signal(signal.SIGHUP)
        wait_for_log(s, r"reloaded")
        assert fingerprint(s.tls_port) == second
        assert fingerprint(s.port, starttls=True) == second
        assert s.proc.poll() is None
        # Existing streams keep working.
        old_session.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        text = old_session.recv_until(r"id=['\"]p1['\"]")
        assert re.search(r"type=['\"]result['\"]", text), text
        # And new logins work with the new certificate.
        r, jid = raw_session(s.tls_port, "alice", resource="after", direct_tls=True)
        r.close()
        assert jid == "alice@localhost/after"
    finally:
        old_session.close()


def test_sighup_with_broken_certificate_keeps_the_old_one(tls_server):
    s = tls_server
    first = cert_fingerprint(s.cert)
    with open(s.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    s.signal(signal.SIGHUP)
    wait_for_log(s, r"reload failed")
    assert s.proc.poll() is None
    assert fingerprint(s.tls_port) == first
    r, jid = raw_session(s.port, "alice", resource="still")
    r.close()
    assert jid == "alice@localhost/still"


# ---- XEP-0199 §4.2: the server pings quiet clients ---------------------------------------------

PING_IQ = re.compile(r"<iq\b(?=[^>]*\btype=['\"]get['\"])(?=[^>]*\bid=['\"]([^'\"]+)['\"])[^>]*>"
                     r"\s*<ping xmlns=['\"]urn:xmpp:ping['\"]\s*/>\s*</iq>")


def test_server_pings_quiet_clients(server_factory):
    with time_limit(30):
        s = server_factory(c2s_extra="ping_interval = 10\nping_timeout = 2")
        s.adduser("alice@localhost", "secret")
        s.adduser("bob@localhost", "secret")
        s.start()
        silent, silent_jid = raw_session(s.port, "alice", resource="silent", timeout=15)
        answering, answering_jid = raw_session(s.port, "bob", resource="answers", timeout=15)
        t0 = time.time()
        try:
            # Both get a ping after ~10 s of silence.
            text = silent.recv_until(PING_IQ.pattern, timeout=13)
            t_ping = time.time() - t0
            assert 8 <= t_ping <= 12.5, t_ping
            assert re.search(r"from=['\"]localhost['\"]", text), text
            assert re.search(r"to=['\"]%s['\"]" % re.escape(silent_jid), text), text
            text = answering.recv_until(PING_IQ.pattern, timeout=3)
            pid = PING_IQ.search(text).group(1)
            answering.send("<iq type='result' id='%s' to='localhost'/>" % pid)
            answering.buf = b""
            # The silent one is dropped ping_timeout (2 s) later with <connection-timeout/>.
            text = silent.recv_until(r"connection-timeout.*</stream:stream>", timeout=5)
            t_drop = time.time() - t0
            assert 1.5 <= t_drop - t_ping <= 4, (t_ping, t_drop)
            assert re.search(r"<stream:error><connection-timeout xmlns=['\"]urn:ietf:params:xml:"
                             r"ns:xmpp-streams['\"]", text), text
            assert silent.closed_by_server(timeout=5)  # RFC 6120 §4.4: closed after a while
            # The answering one is still connected and usable.
            answering.send("<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
            text = answering.recv_until(r"id=['\"]alive['\"]", timeout=5)
            assert "connection-timeout" not in text and "</stream:stream>" not in text, text
            assert re.search(r"type=['\"]result['\"]", text), text
        finally:
            silent.close()
            answering.close()
    assert "did not answer a ping" in s.log()


# ---- starlingctl -------------------------------------------------------------------------------

def test_ctl_adduser_from_stdin_and_existing(server):
    r = server.ctl("adduser", "carol@localhost", input="carol-pw\n")
    assert r.returncode == 0, r.stderr
    assert "carol@localhost" in r.stdout
    r = server.ctl("adduser", "carol@localhost", input="other\n")
    assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
    assert "carol@localhost" in r.stderr
    # RFC 7622 preparation: Carol@LOCALHOST is the same account.
    r = server.ctl("adduser", "Carol@LOCALHOST", input="other\n")
    assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
    assert "carol@localhost" in r.stderr

    async def body():
        c = await login("carol@localhost/x", server.port, "carol-pw")
        await c.close()
    run(body(), 30)


def login_ok(server, jid, password):
    async def body():
        c = Client(jid, password)
        c.connect_to(server.port)
        try:
            done, _ = await asyncio.wait({c.started, c.auth_failed, c.ended}, timeout=20,
                                         return_when=asyncio.FIRST_COMPLETED)
            if c.started in done:
                return True
            if c.auth_failed in done:
                return False
            raise AssertionError("neither session nor auth failure: %r" % (done,))
        finally:
            await c.close()
    return run(body(), 30)


def test_ctl_passwd(server):
    r = server.ctl("passwd", "alice@localhost", input="new-secret\n")
    assert r.returncode == 0, r.stderr
    assert login_ok(server, "alice@localhost/n", "new-secret")
    assert not login_ok(server, "alice@localhost/o", "secret")
    r = server.ctl("passwd", "nobody@localhost", input="x\n")
    assert r.returncode == 5, (r.returncode, r.stderr)


def test_ctl_deluser(server):
    assert login_ok(server, "bob@localhost/1", "secret")
    r = server.ctl("deluser", "bob@localhost")
    assert r.returncode == 0, r.stderr
    assert not login_ok(server, "bob@localhost/2", "secret")
    r = server.ctl("deluser", "bob@localhost")
    assert r.returncode == 5, (r.returncode, r.stderr)
    assert "bob@localhost" in r.stderr


def test_ctl_users_sorted_and_filtered(server_factory):
    s = server_factory(domains=("localhost", "b.test"))
    for jid in ("zed@localhost", "mike@b.test", "alice@localhost", "bob@b.test", "mia@localhost"):
        s.adduser(jid, "pw")
    r = s.ctl("users")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sorted(lines) == sorted(["zed@localhost", "mike@b.test", "alice@localhost",
                                    "bob@b.test", "mia@localhost"])
    r = s.ctl("users", "localhost")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["alice@localhost", "mia@localhost", "zed@localhost"]
    r = s.ctl("users", "b.test")
    assert r.stdout.splitlines() == ["bob@b.test", "mike@b.test"]
    r = s.ctl("users", "nowhere.test")
    assert r.returncode == 6 and "nowhere.test" in r.stderr, (r.returncode, r.stderr)


def test_ctl_users_whole_listing_sorted(server_factory):
    """docs/admin-guide.md: `starlingctl users [DOMAIN]` lists accounts "one JID per line,
    sorted" — the listing over several domains too."""
    s = server_factory(domains=("localhost", "b.test"))
    for jid in ("zed@localhost", "mike@b.test", "alice@localhost", "bob@b.test"):
        s.adduser(jid, "pw")
    r = s.ctl("users")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines == sorted(lines), lines


def test_ctl_bad_jid_and_unknown_domain(server):
    r = server.ctl("adduser", "not a jid@@", input="pw\n")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "not a jid@@" in r.stderr
    r = server.ctl("adduser", "bob@nowhere.test", input="pw\n")
    assert r.returncode == 6, (r.returncode, r.stderr)
    assert "nowhere.test" in r.stderr
    r = server.ctl("adduser", "alice@localhost/res", input="pw\n")
    assert r.returncode == 2, (r.returncode, r.stderr)
    r = server.ctl("adduser", "dave@localhost", input="")
    assert r.returncode == 2, (r.returncode, r.stderr)


def write_config(text):
    d = tempfile.mkdtemp(prefix="starling-e2e-cfg-")
    path = os.path.join(d, "starling.toml")
    with open(path, "w") as f:
        f.write(text)
    return d, path


def ctl(config, *args, input=None):
    return subprocess.run([STARLINGCTL, "--config", config, *args], input=input,
                          capture_output=True, text=True, timeout=60)


def test_ctl_check_ok(server_factory):
    s = server_factory()
    r = s.ctl("check")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "ok" in r.stdout


def test_ctl_check_port_taken(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    path = tmp_path / "starling.toml"
    path.write_text('domains = ["localhost"]\ndata_dir = "%s"\n[c2s]\nlisten = ["127.0.0.1:%d"]\n'
                    'direct_tls = ["127.0.0.1:0"]\n' % (tmp_path / "data", port))
    try:
        r = ctl(str(path), "check")
        assert r.returncode == 7, (r.returncode, r.stdout, r.stderr)
        assert "127.0.0.1:%d" % port in r.stdout + r.stderr
    finally:
        holder.close()


def test_ctl_check_certificate_not_covering_a_domain(server_factory, tmp_path):
    cert, key = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    make_cert(cert, key, "other.example", san="DNS:other.example")
    s = server_factory(extra='[tls]\ncertificate = "%s"\nkey = "%s"\n' % (cert, key))
    r = s.ctl("check")
    assert r.returncode == 7, (r.returncode, r.stdout, r.stderr)
    assert "localhost" in r.stdout
    make_cert(cert, key, "localhost")
    r = s.ctl("check")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)


BAD_CONFIG = 'domains = ["localhost"]\ndata_dir = "%s"\nbogus_key = 1\n[c2s]\nlisten = ["127.0.0.1:0"]\n'


def test_ctl_config_unknown_key():
    d, path = write_config(BAD_CONFIG % "/nonexistent-starling-data")
    try:
        r = ctl(path, "users")
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert "%s:3" % path in r.stderr, r.stderr
        assert "bogus_key" in r.stderr
        r = ctl(path, "check")
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert "%s:3" % path in r.stderr and "bogus_key" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_starling_bad_config_names_file_line_and_key():
    d, path = write_config(BAD_CONFIG % "/nonexistent-starling-data")
    try:
        r = subprocess.run([STARLING, "--config", path], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        out = r.stdout + r.stderr
        assert "%s:3" % path in out, out
        assert "bogus_key" in out
        assert "serving" not in out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_starling_port_in_use_exits_1_naming_the_address(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    path = tmp_path / "starling.toml"
    path.write_text('data_dir = "%s"\n[c2s]\nlisten = ["127.0.0.1:%d"]\n'
                    'direct_tls = ["127.0.0.1:0"]\n' % (tmp_path / "data", port))
    try:
        r = subprocess.run([STARLING, "--config", str(path)], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, (r.returncode, r.stderr)  # docs/admin-guide.md
        assert "127.0.0.1:%d" % port in r.stdout + r.stderr
    finally:
        holder.close()


def test_starling_bad_value_names_file_line_and_key(tmp_path):
    path = tmp_path / "starling.toml"
    path.write_text('data_dir = "%s"\n[c2s]\nping_interval = 5\n' % (tmp_path / "data"))
    r = subprocess.run([STARLING, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "%s:3" % path in r.stderr and "c2s.ping_interval" in r.stderr, r.stderr


# ---- zero configuration ------------------------------------------------------------------------

def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_zero_config_start(tmp_path):
    if not (port_free(5222) and port_free(5223)):
        pytest.skip("127.0.0.1:5222 or :5223 is in use on this machine")
    log_path = tmp_path / "out.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([os.path.abspath(STARLING)], cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while "serving" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.time() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.05)
        text = log_path.read_text(errors="replace")
        assert "listening c2s on 127.0.0.1:5222" in text, text
        assert "listening c2s-direct-tls on 127.0.0.1:5223" in text, text
        assert (tmp_path / "data" / "starling.db").is_file()
        assert (tmp_path / "data" / "tls" / "selfsigned.crt").is_file()
        # Both ports answer: a stream header on 5222, a TLS handshake with that certificate on
        # 5223.
        with socket.create_connection(("127.0.0.1", 5222), timeout=10) as c:
            c.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
            buf = b""
            while b"</stream:features>" not in buf:
                chunk = c.recv(4096)
                assert chunk, buf
                buf += chunk
        assert fingerprint(5223) == cert_fingerprint(tmp_path / "data" / "tls" / "selfsigned.crt")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
