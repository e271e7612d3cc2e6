"""No patient traits and no one-time links in URLs or in the access log."""

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from sisra.platform.logs import MASK, redact
from sisra.platform.settings import Settings
from support.servers import RunningServer


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged_server(settings: Settings) -> Iterator[tuple[str, _Records]]:
    """The app under uvicorn with its access log on, as ``sisra serve`` runs it."""
    access = logging.getLogger("uvicorn.access")
    level = access.level
    running = RunningServer(settings, log_level="info", access_log=True)
    records = _Records()  # after the server: its logging configuration replaces handlers
    access.addHandler(records)
    yield running.url, records
    running.stop()
    access.removeHandler(records)
    access.setLevel(level)


def test_one_time_links_are_not_written_to_the_access_log(logged_server, make_pro):
    url, records = logged_server
    pro = make_pro()
    with httpx.Client(base_url=url, timeout=30) as client:
        link = client.post(
            "/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"}
        ).json()["url"]
        ticket = link.split("/web/ticket/", 1)[1]
        opened = client.get(f"/web/ticket/{ticket}")
        assert opened.status_code == 303  # the link worked: a real ticket opened a session
        assert "sisra_session" in client.cookies
        client.get("/connexion?next=/accueil&ticket=swt_secret1&token=sat_secret2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(records.lines) < 3:
        time.sleep(0.05)
    log = "\n".join(records.lines)
    assert f"/web/ticket/{MASK}" in log
    assert "/api/v1/auth/web-ticket" in log  # ordinary paths are kept
    assert ticket not in log
    assert "swt_secret1" not in log and "sat_secret2" not in log
    assert "next=/accueil" in log


def test_redaction_keeps_the_rest_of_the_line():
    line = '127.0.0.1:5000 - "GET /web/ticket/swt_abc-DEF_1?x=1 HTTP/1.1" 303'
    assert redact(line) == f'127.0.0.1:5000 - "GET /web/ticket/{MASK}?x=1 HTTP/1.1" 303'
    assert redact("/a?code=123456&b=2") == f"/a?code={MASK}&b=2"


def test_patient_search_traits_are_not_written_to_the_access_log(logged_server, make_pro):
    """FHIR clients may search with GET: the access log masks the traits of every patient
    search address (and trait-like values anywhere); POST Patient/_search keeps them out of
    the URL altogether."""
    url, records = logged_server
    pro = make_pro()
    traits = {"family": "LEFEVRE", "given": "Helene", "birthdate": "1969-04-12"}
    with httpx.Client(base_url=url, timeout=30, headers=pro.headers) as client:
        assert client.get("/fhir/r4/Patient", params=traits).status_code == 200
        by_post = client.post("/fhir/r4/Patient/_search", data=traits)
        assert by_post.status_code == 200
        ins = "urn:oid:1.2.250.1.213.1.4.8|269046912304512"
        client.get("/fhir/r4/Patient", params={"identifier": ins})
        client.get("/fhir/r4/DocumentReference", params={"patient.identifier": ins})
        client.get("/identites-a-rapprocher/x", params={"q": "LEFEVRE", "naissance": "1969-04-12"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(records.lines) < 5:
        time.sleep(0.05)
    log = "\n".join(records.lines)
    assert f"/fhir/r4/Patient?{MASK}" in log and "/fhir/r4/Patient/_search" in log
    for trait in ("LEFEVRE", "Helene", "1969-04-12", "269046912304512"):
        assert trait not in log, trait


def test_redaction_masks_patient_search_queries():
    line = '127.0.0.1:5000 - "GET /fhir/r4/Patient?family=DU&birthdate=1950-01-01 HTTP/1.1" 200'
    assert redact(line) == f'127.0.0.1:5000 - "GET /fhir/r4/Patient?{MASK} HTTP/1.1" 200'
    assert redact("/fhir/r4/Patient/abc?_format=json") == "/fhir/r4/Patient/abc?_format=json"
    assert redact("/fhir/r4/DocumentReference?patient.identifier=1|2&type=x") == (
        f"/fhir/r4/DocumentReference?patient.identifier={MASK}&type=x"
    )
    assert redact("/api/v1/professionals?q=lefevre") == "/api/v1/professionals?q=lefevre"
