"""moto's S3 for the tests that read a bucket: a threaded server on loopback, and an
environment with fake credentials and no AWS configuration of the machine's own."""

from __future__ import annotations

from moto.server import ThreadedMotoServer

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing"}


def moto_endpoint():
    """Yields the URL of a moto server on 127.0.0.1 (a fixture's body), stopped after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def isolate_aws(monkeypatch, tmp_path) -> None:
    """Fake credentials; the machine's own AWS config and credential files are not read."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
