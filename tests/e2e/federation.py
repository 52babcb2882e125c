"""Federation (s2s) harness for the end-to-end tests: a test CA and certificates, a fake DNS
server, and Prosody and ejabberd run as our own processes, all on loopback with random ports.

Nothing here touches the system: no /etc, no system service, no port below 1024. Each server
runs from a temporary directory of its own (configuration, data, log) on a loopback address
127.0.0.x chosen by the test, and finds its peers through `FakeDNS`, which serves SRV
`_xmpp-server._tcp.<domain>` (and `_xmpps-server._tcp`) and A records on a random UDP port:

- Prosody 0.12 resolves through lua-unbound (Debian `lua-unbound`), configured with
  `unbound = { resolvconf = false; hoststxt = false; forward = "127.0.0.1@PORT" }`. Without
  lua-unbound it falls back to its pure-Lua resolver, which only reads /etc/resolv.conf and
  always queries port 53: `Prosody.start()` refuses to run then. libunbound answers every name
  under "test." itself (NXDOMAIN, a default local zone) and lua-unbound cannot switch that
  off, so the generated config wraps lua-unbound's context to send "X.test" as
  "X.test.fakedns-alias", which FakeDNS answers as "X.test".
- ejabberd 23.01 (its xmpp_stream_out) looks SRV records up with Erlang's inet_res, which
  follows ERL_INETRC; ejabberdctl sets ERL_INETRC to `<config dir>/inetrc`, so we pass
  `--config-dir` with an inetrc holding `{nameserver, {127,0,0,1}, PORT}`. It resolves the
  SRV *target* with the system's getaddrinfo (net:getaddrinfo/2), which never sees our
  server: so FakeDNS.add_server makes the SRV target the address literal ("127.0.0.3."),
  and ejabberd cannot use the A-record fallback (no SRV) for test domains.
- Starling takes the same server as `[s2s] dns_server = "ADDR:PORT"` (`FakeDNS.addr_port`),
  or a static `[s2s.hosts]` map.

See test_federation_peers.py for a complete Prosody <-> ejabberd run.
"""
import asyncio
import datetime
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

PROSODY_BIN = shutil.which("prosody") or "/usr/bin/prosody"
PROSODYCTL_BIN = shutil.which("prosodyctl") or "/usr/bin/prosodyctl"
EJABBERDCTL_BIN = (shutil.which("ejabberdctl") or "/usr/sbin/ejabberdctl")

START_TIMEOUT = 60      # ejabberd takes 3-10 s on a quiet machine, much longer on a loaded one
STOP_TIMEOUT = 30
CMD_TIMEOUT = 60


# ---- ports and addresses ---------------------------------------------------------------------

def free_port(address="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port that is free on `address` now (the kernel's choice for port 0). Never one of the
    well-known XMPP ports: a system Prosody/ejabberd may hold 5222/5269/5280 on all interfaces,
    and the kernel only hands out ports from the ephemeral range."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def port_open(address, port):
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(pred, timeout, what, interval=0.1):
    """Polls `pred` until it returns a true value (returned) or `timeout` seconds pass
    (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---- fake DNS --------------------------------------------------------------------------------

class FakeDNS:
    """An authoritative-looking DNS server on a random UDP loopback port, answering only what it
    was told: SRV, A and AAAA records. Names it does not know get NXDOMAIN, known names without
    the asked type get an empty NOERROR answer. Runs in a daemon thread; records can be added
    while it runs. `queries` records every (name, type) asked, for tests that check lookups."""

    # A query for "<name>.<ALIAS_SUFFIX>" is answered as one for "<name>" (records keep the
    # asked name). Prosody's libunbound refuses to send queries under "test." (a default local
    # zone, RFC 6761) and lua-unbound cannot change that, so Prosody's configuration rewrites
    # its queries for "*.test" into this suffix (see Prosody._dns_preamble).
    ALIAS_SUFFIX = "fakedns-alias"

    def __init__(self, address="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.address, self.port = self.sock.getsockname()
        self._records = {}          # (name, rdtype) -> list of rdata text
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.queries = []

    # -- records
    @staticmethod
    def _name(name):
        return name.rstrip(".").lower() + "."

    def add(self, name, rdtype, text):
        """Adds one record, e.g. add("a.test", "A", "127.0.0.2") or
        add("_xmpp-server._tcp.a.test", "SRV", "0 5 5269 a.test.")."""
        with self._lock:
            self._records.setdefault((self._name(name), rdtype.upper()), []).append(text)

    def add_a(self, name, address):
        ip = ipaddress.ip_address(address)
        self.add(name, "A" if ip.version == 4 else "AAAA", str(ip))

    def add_srv(self, domain, target, port, service="xmpp-server", proto="tcp", priority=0,
                weight=5):
        self.add("_%s._%s.%s" % (service, proto, domain), "SRV",
                 "%d %d %d %s" % (priority, weight, port, self._name(target)))

    def add_server(self, domain, address, port, tls_port=None, target=None):
        """An XMPP server for `domain` at address:port (STARTTLS, `_xmpp-server._tcp`) and
        optionally address:tls_port (direct TLS, `_xmpps-server._tcp`, XEP-0368). The domain
        gets an A record for `address` (the no-SRV fallback).

        The SRV target is `target`, by default the address literal itself ("127.0.0.3."):
        ejabberd resolves SRV records through inet_res (our server) but the SRV *targets*
        through the system's getaddrinfo (net:getaddrinfo/2 in xmpp_stream_out), which only
        sees /etc/hosts and /etc/resolv.conf; an address literal needs no lookup. Prosody and
        Starling take a literal as well. Give target="name" to test a target name (it gets an
        A record here; ejabberd cannot then reach it)."""
        self.add_a(domain, address)
        if target is None:
            target = address
        elif target != domain:
            self.add_a(target, address)
        self.add_srv(domain, target, port)
        if tls_port:
            self.add_srv(domain, target, tls_port, service="xmpps-server")

    def remove(self, name):
        """Forgets every record of `name` (any type)."""
        n = self._name(name)
        with self._lock:
            for key in [k for k in self._records if k[0] == n]:
                del self._records[key]

    # -- for the peers
    @property
    def addr_port(self):
        """"127.0.0.1:PORT", as Starling's [s2s] dns_server takes it."""
        return "%s:%d" % (self.address, self.port)

    @property
    def unbound_forward(self):
        """"127.0.0.1@PORT", as libunbound's forwarder syntax (Prosody's unbound.forward)."""
        return "%s@%d" % (self.address, self.port)

    def erlang_inetrc(self, hosts=()):
        """The text of an Erlang inetrc file (ERL_INETRC) that sends every DNS query to this
        server: for ejabberd. `hosts`: (address, name) pairs also put in Erlang's host table."""
        ip = ",".join(self.address.split("."))
        # Order matters: setting resolv_conf (here: none, so /etc/resolv.conf is neither read
        # nor watched) resets the name servers, so it comes before ours.
        lines = ["{resolv_conf, \"\"}.",
                 "{nameserver, {%s}, %d}." % (ip, self.port),
                 "{hosts_file, \"\"}.",
                 "{lookup, [file, dns]}.",
                 "{timeout, 2000}.",
                 "{retry, 2}."]
        # The Erlang distribution (ejabberdctl -> node@localhost) resolves "localhost" too.
        lines.append("{host, {127,0,0,1}, [\"localhost\"]}.")
        for address, name in hosts:
            lines.append("{host, {%s}, [\"%s\"]}." % (",".join(address.split(".")), name))
        return "\n".join(lines) + "\n"

    # -- serving
    def start(self):
        self._thread = threading.Thread(target=self._serve, name="fake-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sock.close()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(data)
            except Exception:   # noqa: BLE001  (garbage in: no answer, as a real server)
                continue
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def _answer(self, data):
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA | dns.flags.RA
        if not query.question:
            reply.set_rcode(dns.rcode.FORMERR)
            return reply.to_wire()
        q = query.question[0]
        name = q.name.to_text().lower()
        alias = "." + self.ALIAS_SUFFIX + "."
        if name.endswith(alias):
            name = name[:-len(alias)] + "."
        rdtype = dns.rdatatype.to_text(q.rdtype)
        self.queries.append((name.rstrip("."), rdtype))
        with self._lock:
            texts = list(self._records.get((name, rdtype), ()))
            known = any(k[0] == name for k in self._records)
        if texts:
            reply.answer.append(dns.rrset.from_text_list(q.name, 60, dns.rdataclass.IN, rdtype,
                                                         texts))
        elif not known:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        return reply.to_wire()


# ---- certificates ----------------------------------------------------------------------------

class CA:
    """A test certificate authority in `directory`: EC P-256, valid for a week. `path` is the
    PEM file of its certificate (the trust store to give every peer)."""

    def __init__(self, directory, name="Starling test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=7))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(
                         digital_signature=False, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                         self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(directory, "ca.pem")
        _write_pem(self.path, self.cert)

    def issue(self, domain, names=None, subdomains=(), directory=None):
        """A leaf certificate for `domain`, returned as (certificate_path, key_path). The
        certificate file holds the leaf then the CA (a full chain, as an ACME client writes it).
        Its dNSName SANs: `names` (default [domain]) plus "<sub>.<domain>" for each of
        `subdomains` (e.g. ("conference", "pubsub")). EKU serverAuth + clientAuth: an s2s
        certificate also authenticates the initiating server (SASL EXTERNAL, RFC 6120 §13.7)."""
        return _leaf(directory or self.dir, domain, names, subdomains, self.key, self.cert)


def self_signed(directory, domain, names=None, subdomains=()):
    """A "bad" certificate for `domain`: self-signed, so no peer trusts it (dialback runs)."""
    return _leaf(directory, domain, names, subdomains, None, None)


def other_ca_cert(directory, domain, names=None, subdomains=()):
    """A certificate for `domain` from a CA no peer trusts."""
    other = CA(os.path.join(directory, "other-ca-" + domain), name="Untrusted test CA")
    return other.issue(domain, names, subdomains, directory=directory)


def _write_pem(path, *objs, key=None):
    from cryptography.hazmat.primitives import serialization
    with open(path, "wb") as f:
        if key is not None:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        for o in objs:
            f.write(o.public_bytes(serialization.Encoding.PEM))


def _leaf(directory, domain, names, subdomains, ca_key, ca_cert):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    os.makedirs(directory, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    dns_names = list(names or [domain]) + ["%s.%s" % (s, domain) for s in subdomains]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(ca_cert.subject if ca_cert is not None else subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=7))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                        critical=False)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                               ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if ca_cert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
    cert = b.sign(ca_key if ca_key is not None else key, hashes.SHA256())
    tag = "" if ca_cert is not None else "-selfsigned"
    cert_path = os.path.join(directory, "%s%s.crt" % (domain, tag))
    key_path = os.path.join(directory, "%s%s.key" % (domain, tag))
    if ca_cert is not None:
        _write_pem(cert_path, cert, ca_cert)
    else:
        _write_pem(cert_path, cert)
    _write_pem(key_path, key=key)
    os.chmod(key_path, 0o640)
    return cert_path, key_path


# ---- running a peer --------------------------------------------------------------------------

def _system_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _run_as(user):
    """The command prefix that runs a server as its Debian system user when we are root (Prosody
    refuses to run as root; ejabberdctl started as root switches users through su, whose PAM
    session resets the fd limit). setpriv keeps our environment, limits and PID chain."""
    if os.geteuid() == 0 and _system_user(user) is not None:
        return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"]
    return []


def _chown_tree(path, user):
    if os.geteuid() != 0:
        return
    pw = _system_user(user)
    if pw is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for n in files:
            os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)


def _check_traversable(path, user):
    """Raises ValueError when `user` (a system user; we are root) cannot reach `path`: every
    parent must be world-searchable (pytest's tmp_path is not: /tmp/pytest-of-root is 0700)."""
    p = os.path.dirname(os.path.abspath(path))
    while p != "/":
        if not os.stat(p).st_mode & 0o001:
            raise ValueError("%s cannot reach %s: %s is not world-searchable; use a work "
                             "directory from federation.workdir()" % (user, path, p))
        p = os.path.dirname(p)


def workdir(prefix="starling-fed-"):
    """A new world-searchable temporary directory (mode 0755) for peers' work directories:
    Prosody and ejabberd run as their own system users and must reach their files."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


def _descendants(pid):
    """PIDs of every descendant of `pid` (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def _alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _stop_pid(pid, timeout=STOP_TIMEOUT):
    """SIGTERM `pid`, SIGKILL after `timeout` s. Returns True when it stopped on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return False


def _copy_into(directory, *paths):
    """Copies files into `directory` (the server's own, chowned to its user by start());
    returns the new paths."""
    out = []
    for p in paths:
        dst = os.path.join(directory, os.path.basename(p))
        if os.path.abspath(p) != os.path.abspath(dst):
            shutil.copyfile(p, dst)
        out.append(dst)
    return out


class Peer:
    """What Prosody and ejabberd have in common. Arguments:

    domain       the one XMPP domain it serves
    address      the loopback address it listens on (127.0.0.x) for c2s and s2s
    ca           the CA whose certificates it trusts (a CA), or None
    cert         (certificate_path, key_path) it presents; default: issued by `ca`
    dns          the FakeDNS it resolves peers through; its own SRV/A records are added there
                 by start() (domain -> address:s2s_port)
    secure_auth  True: peers must authenticate with a valid certificate (SASL EXTERNAL);
                 False: dialback (XEP-0220) is enabled and accepted as well
    dialback     whether dialback is enabled at all (default: not secure_auth)
    users        {localpart: password} accounts created by start()
    """

    kind = "peer"
    user = None

    def __init__(self, domain, address="127.0.0.1", *, ca=None, cert=None, dns=None,
                 secure_auth=True, dialback=None, users=None, workdir=None):
        self.domain = domain
        self.address = address
        self.ca = ca
        self.dns = dns
        self.secure_auth = secure_auth
        self.dialback = (not secure_auth) if dialback is None else dialback
        self.users = dict(users or {})
        self.dir = workdir or tempfile.mkdtemp(prefix="starling-fed-%s-" % self.kind)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)   # the server's system user must reach its files
        if self.user and os.geteuid() == 0 and _system_user(self.user) is not None:
            _check_traversable(self.dir, self.user)
        self.cert_from_ca = cert is None    # clients can check it against `ca`
        if cert is None:
            if ca is None:
                raise ValueError("%s: give a CA or a certificate" % domain)
            cert = ca.issue(domain, directory=os.path.join(self.dir, "certs"))
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        self.cert_path, self.key_path = _copy_into(os.path.join(self.dir, "certs"), *cert)
        self.ca_path = None
        if ca is not None:
            [self.ca_path] = _copy_into(os.path.join(self.dir, "certs"), ca.path)
        self.c2s_port = free_port(address)
        self.s2s_port = free_port(address)
        self.proc = None
        self.pid = None

    def stdout_log(self):
        return _read(os.path.join(self.dir, "stdout.log"))

    def register_dns(self):
        if self.dns is not None:
            self.dns.add_server(self.domain, self.address, self.s2s_port)

    def jid(self, user):
        return "%s@%s" % (user, self.domain)

    def _wait_ports(self, pid_alive, timeout):
        def ready():
            if not pid_alive():
                raise RuntimeError("%s exited during start-up; its output:\n%s\nlog:\n%s"
                                   % (self.kind, self.stdout_log()[-3000:], self.log()[-3000:]))
            return port_open(self.address, self.c2s_port) and port_open(self.address,
                                                                        self.s2s_port)
        try:
            wait_until(ready, timeout, "%s to listen on %s:%d and :%d" % (
                self.kind, self.address, self.c2s_port, self.s2s_port), interval=0.2)
        except AssertionError:
            log = self.log()
            self.stop()
            raise AssertionError("%s did not start within %ss; log:\n%s"
                                 % (self.kind, timeout, log[-3000:]))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _read(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Prosody(Peer):
    """Prosody 0.12 (Debian `prosody`), our own process: `prosody -F --config <dir>/prosody.cfg.lua`,
    as the `prosody` user when we are root. Log: <dir>/prosody.log (debug level)."""

    kind = "prosody"
    user = "prosody"

    def __init__(self, domain="prosody.test", address="127.0.0.3", *, extra="", **kw):
        super().__init__(domain, address, **kw)
        self.extra = extra
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        self.log_path = os.path.join(self.dir, "prosody.log")

    @staticmethod
    def available():
        """None when Prosody is installed, else the reason to skip."""
        if not os.path.exists(PROSODY_BIN):
            return "prosody is not installed (Debian package prosody)"
        return None

    @staticmethod
    def check_lua_unbound():
        """Raises RuntimeError without lua-unbound (scripts/install-deps.sh installs it):
        Prosody's fallback resolver only asks port 53 of the servers in /etc/resolv.conf."""
        try:
            r = subprocess.run(["lua5.4", "-e", "require 'lunbound'"], capture_output=True,
                               timeout=CMD_TIMEOUT)
            ok = r.returncode == 0
        except OSError:
            ok = False
        if not ok:
            raise RuntimeError("lua-unbound is not installed (Debian package lua-unbound; "
                               "scripts/install-deps.sh): Prosody cannot use the test DNS")

    def log(self):
        return _read(self.log_path)

    def _dns_preamble(self):
        if self.dns is None:
            return ""
        # libunbound answers every query under "test." itself with NXDOMAIN (a default local
        # zone) and lua-unbound exposes no option to lift it, so wrap lua-unbound's context:
        # queries for "*.test" go out as "*.test.<alias>", which FakeDNS answers as "*.test".
        return """
-- Resolve through the test's FakeDNS (see tests/e2e/federation.py).
unbound = { resolvconf = false; hoststxt = false; forward = "%(fwd)s" }
do
    local lunbound = require "lunbound"
    if not lunbound.e2e_wrapped then
        local real_new = lunbound.new
        local function alias(name)
            if type(name) == "string" then
                local n = name:gsub("%%.$", "")
                if n:lower():match("%%.test$") then
                    return n .. ".%(suffix)s."
                end
            end
            return name
        end
        lunbound.new = function(conf)
            local ctx = real_new(conf)
            return setmetatable({}, {
                __index = function(_, k)
                    local v = ctx[k]
                    if k == "resolve_async" then
                        return function(_, cb, qname, ...) return ctx:resolve_async(cb, alias(qname), ...) end
                    elseif k == "resolve" then
                        return function(_, qname, ...) return ctx:resolve(alias(qname), ...) end
                    elseif type(v) == "function" then
                        return function(_, ...) return v(ctx, ...) end
                    end
                    return v
                end;
                __tostring = function() return tostring(ctx) end;
            })
        end
        lunbound.e2e_wrapped = true
    end
end
""" % {"fwd": self.dns.unbound_forward, "suffix": FakeDNS.ALIAS_SUFFIX}

    def write_config(self):
        d = self.dir
        capath = os.path.join(d, "capath")      # empty: trust only our CA, not /etc/ssl/certs
        os.makedirs(capath, exist_ok=True)
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        modules = ['"roster"', '"saslauth"', '"tls"', '"disco"', '"ping"', '"posix"']
        if self.dialback:
            modules.append('"dialback"')
        ssl = 'certificate = "%s"; key = "%s"; capath = "%s";' % (self.cert_path, self.key_path,
                                                                  capath)
        if self.ca_path:
            ssl += ' cafile = "%s";' % self.ca_path
        text = """-- Written by tests/e2e/federation.py
%(dns)s
pidfile = "%(d)s/prosody.pid"
data_path = "%(d)s/data"
interfaces = { "%(addr)s" }
c2s_interfaces = { "%(addr)s" }
s2s_interfaces = { "%(addr)s" }
c2s_ports = { %(c2s)d }
s2s_ports = { %(s2s)d }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
legacy_ssl_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
use_ipv6 = false
modules_enabled = { %(modules)s }
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = %(secure)s
s2s_timeout = 30
ssl = { %(ssl)s }
log = { debug = "%(log)s" }
%(extra)s
VirtualHost "%(domain)s"
""" % {"dns": self._dns_preamble(), "d": d, "addr": self.address, "c2s": self.c2s_port,
       "s2s": self.s2s_port, "modules": "; ".join(modules),
       "secure": "true" if self.secure_auth else "false", "ssl": ssl, "log": self.log_path,
       "extra": self.extra, "domain": self.domain}
        with open(self.config, "w") as f:
            f.write(text)

    def ctl(self, *args, timeout=CMD_TIMEOUT):
        return subprocess.run(_run_as(self.user) + [PROSODYCTL_BIN, "--config", self.config,
                                                    *args],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def adduser(self, user, password):
        """Creates user@domain (prosodyctl register; works whether or not Prosody runs)."""
        r = self.ctl("register", user, self.domain, password)
        assert r.returncode == 0, "prosodyctl register %s: %s%s" % (user, r.stdout, r.stderr)
        return self.jid(user)

    def start(self, timeout=START_TIMEOUT):
        why = self.available()
        if why:
            raise RuntimeError(why)
        if self.dns is not None:
            self.check_lua_unbound()
        self.write_config()
        _chown_tree(self.dir, self.user)
        for u, p in self.users.items():
            self.adduser(u, p)
        self.register_dns()
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(_run_as(self.user) + [PROSODY_BIN, "-F", "--config",
                                                           self.config],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.pid = self.proc.pid    # setpriv execs: the PID is Prosody's
        self._wait_ports(lambda: self.proc.poll() is None, timeout)
        return self

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM by PID, SIGKILL after `timeout` s. Returns the exit code (None if not run)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        return rc


class Ejabberd(Peer):
    """ejabberd 23.01 (Debian `ejabberd`), our own node: `ejabberdctl --config-dir <dir> ...
    foreground`, as the `ejabberd` user when we are root. The node is named
    "fed<random>@localhost" and uses its own cookie and a random Erlang distribution port on
    127.0.0.1 without epmd, so nothing outlives it and it never meets the system node
    (ejabberd@localhost). ERL_INETRC is <dir>/inetrc (ejabberdctl derives it from --config-dir).
    Logs: <dir>/log/ejabberd.log and error.log (info level)."""

    kind = "ejabberd"
    user = "ejabberd"

    def __init__(self, domain="ejabberd.test", address="127.0.0.4", *, extra="", **kw):
        super().__init__(domain, address, **kw)
        self.extra = extra
        self.node = "fed%s@localhost" % secrets.token_hex(4)
        self.cookie = secrets.token_hex(16)
        self.dist_port = free_port("127.0.0.1")
        self.config = os.path.join(self.dir, "ejabberd.yml")
        self.ctl_config = os.path.join(self.dir, "ejabberdctl.cfg")
        self.log_path = os.path.join(self.dir, "log", "ejabberd.log")

    @staticmethod
    def available():
        if not os.path.exists(EJABBERDCTL_BIN):
            return "ejabberd is not installed (Debian package ejabberd)"
        if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "ejabberd":
            return "ejabberdctl runs only as root or as the ejabberd user"
        return None

    def log(self):
        return _read(self.log_path) + _read(os.path.join(self.dir, "log", "error.log"))

    def write_config(self):
        d = self.dir
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        os.makedirs(os.path.join(d, "log"), exist_ok=True)
        modules = ["  mod_roster: {}", "  mod_disco: {}", "  mod_ping: {}"]
        if self.dialback:
            modules.append("  mod_s2s_dialback: {}")
        ca = ""
        if self.ca_path:
            ca = 'ca_file: "%s"\ns2s_cafile: "%s"\n' % (self.ca_path, self.ca_path)
        with open(self.config, "w") as f:
            f.write("""# Written by tests/e2e/federation.py
hosts:
  - "%(domain)s"
loglevel: info
log_rotate_count: 0
certfiles:
  - "%(cert)s"
  - "%(key)s"
%(ca)ss2s_use_starttls: required
s2s_dns_timeout: 5
s2s_dns_retries: 1
s2s_timeout: 30
outgoing_s2s_families:
  - ipv4
outgoing_s2s_ipv4_address: "%(addr)s"
listen:
  -
    port: %(c2s)d
    ip: "%(addr)s"
    module: ejabberd_c2s
    starttls_required: true
  -
    port: %(s2s)d
    ip: "%(addr)s"
    module: ejabberd_s2s_in
auth_method: internal
auth_password_format: scram
default_db: mnesia
modules:
%(modules)s
%(extra)s
""" % {"domain": self.domain, "cert": self.cert_path, "key": self.key_path, "ca": ca,
       "addr": self.address, "c2s": self.c2s_port, "s2s": self.s2s_port,
       "modules": "\n".join(modules), "extra": self.extra})
        # ejabberdctl sources this file. No epmd: a fixed distribution port on loopback.
        with open(self.ctl_config, "w") as f:
            f.write('ERLANG_NODE=%s\nERL_DIST_PORT=%d\n'
                    'ERL_OPTIONS="-setcookie %s -kernel inet_dist_use_interface {127,0,0,1} '
                    '-env ERL_CRASH_DUMP_BYTES 0"\n'
                    'EJABBERD_PID_PATH=%s/ejabberd.pid\nEJABBERD_BYPASS_WARNINGS=true\n'
                    % (self.node, self.dist_port, self.cookie, d))
        if self.dns is not None:
            with open(os.path.join(d, "inetrc"), "w") as f:
                f.write(self.dns.erlang_inetrc())
        else:
            with open(os.path.join(d, "inetrc"), "w") as f:
                f.write("{lookup, [file, native]}.\n{host, {127,0,0,1}, [\"localhost\"]}.\n")

    def _cmd(self, *args):
        d = self.dir
        return (_run_as(self.user) + ["env", "HOME=" + d, EJABBERDCTL_BIN,
                                      "--config-dir", d, "--config", self.config,
                                      "--ctl-config", self.ctl_config, "--spool",
                                      os.path.join(d, "db"), "--logs", os.path.join(d, "log"),
                                      *args])

    def ctl(self, *args, timeout=CMD_TIMEOUT):
        return subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=self.dir)

    def adduser(self, user, password):
        """Creates user@domain (ejabberdctl register; the node must be running)."""
        for _ in range(20):   # bounded: a table still being created answers no_exists
            r = self.ctl("register", user, self.domain, password)
            if r.returncode == 0 or "no_exists" not in r.stdout + r.stderr:
                break
            time.sleep(0.5)
        assert r.returncode == 0, "ejabberdctl register %s: %s%s" % (user, r.stdout, r.stderr)
        return self.jid(user)

    def _find_beam(self):
        """Our node's beam.smp among the wrapper's descendants (ejabberdctl first runs a
        short-lived erl of its own to parse INET_DIST_INTERFACE; that one is not the server)."""
        for pid in _descendants(self.proc.pid) + [self.proc.pid]:
            try:
                with open("/proc/%d/comm" % pid) as f:
                    comm = f.read().strip()
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if comm == "beam.smp" and self.node.encode() in argv:
                return pid
        return None

    def start(self, timeout=START_TIMEOUT):
        why = self.available()
        if why:
            raise RuntimeError(why)
        self.write_config()
        _chown_tree(self.dir, self.user)
        self.register_dns()
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(self._cmd("foreground"), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.dir)
        out.close()

        def alive():
            if self.pid is None:
                self.pid = self._find_beam()
            if self.pid is not None:
                return _alive(self.pid)
            return self.proc.poll() is None
        self._wait_ports(alive, timeout)
        # The listeners open before every module has started (the auth tables among them):
        # `ejabberdctl started` waits until the node reports itself started.
        r = self.ctl("started", timeout=timeout)
        assert r.returncode == 0, "ejabberdctl started: %s%s" % (r.stdout, r.stderr)
        for u, p in self.users.items():
            self.adduser(u, p)
        return self

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM to our beam.smp by PID (the VM stops cleanly), SIGKILL after `timeout` s;
        then the ejabberdctl wrapper exits by itself (bounded wait, then SIGKILL)."""
        if self.proc is None:
            return None
        if self.pid is None and self.proc.poll() is None:
            self.pid = self._find_beam()
        if self.pid is not None:
            _stop_pid(self.pid, timeout)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        self.pid = None
        return rc


# ---- clients ---------------------------------------------------------------------------------

async def login_at(peer, user, password, *, verify=None, timeout=None, **kw):
    """A connected, bound slixmpp client (clients.Client) for user@peer.domain on the peer's
    c2s port (STARTTLS). verify=True: the client checks the server certificate against the
    peer's CA (peer.ca_path) and its domain; False: no certificate check (the client side is
    not under test); None (default): check when the peer's certificate came from its CA.
    Any object with domain, address, c2s_port (and ca_path, cert_from_ca) works, Starling's
    too."""
    if verify is None:
        verify = getattr(peer, "cert_from_ca", False)
    import ssl as _ssl
    import clients
    c = clients.Client("%s@%s" % (user, peer.domain), password, **kw)
    if verify and getattr(peer, "ca_path", None):
        c.ssl_context.verify_mode = _ssl.CERT_REQUIRED
        c.ssl_context.check_hostname = True
        c.ssl_context.load_verify_locations(peer.ca_path)
    c.connect((peer.address, peer.c2s_port))
    try:
        await c.wait_session(timeout or clients.LOGIN_TIMEOUT)
    except BaseException:
        await c.close()
        raise
    return c


class World:
    """A test CA, a started FakeDNS and a work directory, and the peers started in it; a context
    manager that stops every peer (by PID, bounded) and the DNS server and removes the
    directory on exit (kept when STARLING_E2E_KEEP is set, for reading the logs).

        with federation.World() as w:
            p = w.start(federation.Prosody(ca=w.ca, dns=w.dns, users={"alice": "secret"},
                                           workdir=w.path("prosody")))
    """

    def __init__(self):
        self.dir = workdir()
        self.ca = CA(os.path.join(self.dir, "ca"))
        self.dns = FakeDNS().start()
        self.peers = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, peer):
        self.peers.append(peer)
        return peer.start()

    def close(self):
        for p in reversed(self.peers):
            try:
                p.stop()
            except Exception:   # noqa: BLE001  (stop the others anyway)
                pass
        self.dns.stop()
        if not os.environ.get("STARLING_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- what every federation test checks ----------------------------------------------------

class Presences:
    """Every presence a client receives (any type), for bounded waits on a particular one."""

    def __init__(self, client):
        self.items = []
        for ev in ("presence_available", "presence_unavailable", "presence_subscribe",
                   "presence_subscribed", "presence_unsubscribe", "presence_unsubscribed",
                   "presence_error"):
            client.add_event_handler(ev, self._on)

    def _on(self, pres):
        self.items.append((pres["from"].bare, pres["type"]))

    async def wait(self, bare, types, timeout=30):
        await until(lambda: any(f == bare and t in types for f, t in self.items), timeout,
                    lambda: "presence %s from %s; got %r" % (types, bare, self.items))


async def until(pred, timeout, what):
    """Waits (bounded) until pred() is true; AssertionError naming what() otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() >= deadline:
            raise AssertionError("not within %ss: %s" % (timeout, what()))
        await asyncio.sleep(0.05)


AVAILABLE = ("available", "chat", "away", "xa", "dnd")


async def federate(p, e, password="secret"):
    """alice on server `p` and bob on server `e` (any objects login_at takes): mutual
    subscription, presence, messages both ways, checked on both servers' rosters."""
    alice = await login_at(p, "alice", password)
    bob = await login_at(e, "bob", password)
    try:
        # slixmpp's defaults: auto_authorize and auto_subscribe, so bob approves alice's
        # request and subscribes back, which alice approves in turn.
        pa, pb = Presences(alice), Presences(bob)
        alice.send_presence()
        bob.send_presence()
        await asyncio.gather(alice.ping_server(), bob.ping_server())
        alice.send_presence(pto=bob.boundjid.bare, ptype="subscribe")
        # Each request crossed the federation link (whether the approval itself is shown to
        # the client as a presence differs between servers; the roster pushes below are not).
        await pb.wait(alice.boundjid.bare, ("subscribe",), 60)
        await pa.wait(bob.boundjid.bare, ("subscribe",), 60)
        # Both servers' rosters say "both" (asked with roster gets, not slixmpp's local view,
        # which its own auto-subscribe bookkeeping can leave behind the server's).
        async def subscription(client, contact):
            # No 'ver' attribute: the whole roster, never "unchanged since version X".
            iq = await client.iq_get(None, ET.Element("{jabber:iq:roster}query"))
            for item in iq.xml.iter("{jabber:iq:roster}item"):
                if item.get("jid") == contact:
                    return item.get("subscription")
            return None

        async def both():
            return (await subscription(alice, bob.boundjid.bare),
                    await subscription(bob, alice.boundjid.bare))
        state = None
        for _ in range(60):     # bounded: at most ~60 round trips a side
            state = await both()
            if state == ("both", "both"):
                break
            await asyncio.sleep(0.5)
        assert state == ("both", "both"), state
        # Both now see the other online (presence probes / broadcast after subscription).
        await pa.wait(bob.boundjid.bare, AVAILABLE, 30)
        await pb.wait(alice.boundjid.bare, AVAILABLE, 30)

        alice.say(bob.boundjid.bare, "hello from " + p.domain)
        m = await bob.next_message(30, pred=lambda m: m["body"])
        assert m["body"] == "hello from " + p.domain
        assert m["from"].bare == alice.boundjid.bare and m["type"] == "chat"

        bob.say(alice.boundjid.bare, "hello from " + e.domain)
        m = await alice.next_message(30, pred=lambda m: m["body"])
        assert m["body"] == "hello from " + e.domain
        assert m["from"].bare == bob.boundjid.bare and m["type"] == "chat"

    finally:
        import clients
        await clients.close_all(alice, bob)


def wait_log(peer, pattern, timeout=20):
    """Waits (bounded) until `peer.log()` matches the regex `pattern` (servers write their logs
    asynchronously: a line may land after the stanza it describes was delivered)."""
    deadline = time.time() + timeout
    while True:
        text = peer.log()
        if re.search(pattern, text):
            return text
        if time.time() >= deadline:
            raise AssertionError("no %r in the log within %ss:\n%s" % (pattern, timeout,
                                                                        text[-5000:]))
        time.sleep(0.1)
