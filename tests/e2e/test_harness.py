"""The harness itself: the server starts on the built-in layout, answers a stream header and
stops with exit code 0 on SIGTERM."""
from conftest import HEADER


def test_stream_header_and_starttls_feature(server, raw):
    c = raw()
    c.send(HEADER)
    text = c.recv_until(r"</stream:features>")
    assert "from='localhost'" in text
    assert "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" in text
