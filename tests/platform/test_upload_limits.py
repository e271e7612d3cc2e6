"""Request bodies are bounded in size and pace while they are read, against a live uvicorn
server: the document uploads with their own limit, every other route with a small one.

Raw sockets, so that the test controls exactly what is sent and sees when the server answers:
a 60 MB chunked upload must be answered 413 long before the client has sent it all.
"""

import json
import select
import socket
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy import select as sql_select

from sisra.platform.models import Document

BOUNDARY = "sisraboundary7f3a"
CHUNK = 64 * 1024


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    return sock


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _multipart_start(meta: dict[str, Any]) -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps(meta)}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
        "%PDF-1.7\n"
    ).encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response (status, headers, body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        assert part, f"connection closed before a response: {data!r}"
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return status, headers, body


def _send_until_answered(
    sock: socket.socket, first: bytes, chunks: Callable[[], bytes | None]
) -> tuple[int, tuple[int, dict[str, str], bytes] | None]:
    """Send ``first`` then ``chunks()`` until it returns None, stopping as soon as the server
    answers (or stops reading). Returns how many bytes went out, and the response."""
    sock.sendall(first)
    sent = 0
    while True:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return sent, _read_response(sock)
        chunk = chunks()
        if chunk is None:
            return sent, _read_response(sock)
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            try:
                return sent, _read_response(sock)
            except (ConnectionResetError, AssertionError):
                return sent, None
        sent += len(chunk)


def _pdf_chunks(total: int, framing: Callable[[bytes], bytes]) -> Callable[[], bytes | None]:
    remaining = [total]
    block = b"0" * CHUNK

    def _next() -> bytes | None:
        if remaining[0] <= 0:
            return None
        remaining[0] -= CHUNK
        return framing(block)

    return _next


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _meta(patient: Any, rec: Any) -> dict[str, Any]:
    return {
        "patient_id": str(patient),
        "title": "Scanner",
        "type_code": "cr_imagerie",
        "clinical_date": "2026-01-05",
        "recipients": [str(rec.id)],
    }


def test_a_60_mb_chunked_upload_is_cut_at_the_limit(
    live_server, make_pro, make_patient, settings, db
):
    author, rec = make_pro(), make_pro()
    sixty_mb = 60 * 1024 * 1024
    head = _head(
        "/api/v1/documents",
        {
            **author.headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        },
    )
    with _connect(live_server.url) as sock:
        first = head + _chunked(_multipart_start(_meta(make_patient(), rec)))
        sent, response = _send_until_answered(sock, first, _pdf_chunks(sixty_mb, _chunked))
    # The server stopped reading at the limit (2 MB in tests), so the client could not push
    # 60 MB: what went out is the limit plus what the kernel's socket buffers absorbed.
    assert sent < sixty_mb // 3, sent
    assert response is not None, f"no answer after {sent} bytes"
    status, headers, body = response
    assert status == 413
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == "file_too_large"
    assert "taille maximale" in answer["message"] and "Rien n'a été envoyé" in answer["message"]
    with db() as session:
        assert session.scalar(sql_select(func.count()).select_from(Document)) == 0


def test_a_too_large_content_length_is_refused_before_the_body(live_server, make_pro):
    author = make_pro()
    head = _head(
        "/api/v1/documents",
        {
            **author.headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(60 * 1024 * 1024),
        },
    )
    with _connect(live_server.url) as sock:
        sock.sendall(head)  # headers only: the answer must not wait for the body
        status, _headers, body = _read_response(sock)
    assert status == 413 and json.loads(body)["code"] == "file_too_large"


def test_the_web_share_form_is_cut_at_the_limit_too(live_server, make_pro, make_patient):
    author = make_pro()
    path = f"/envoyer/{make_patient()}"
    head = _head(
        path,
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        },
    )
    start = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()
    with _connect(live_server.url) as sock:
        sent, response = _send_until_answered(
            sock, head + _chunked(start), _pdf_chunks(60 * 1024 * 1024, _chunked)
        )
    assert sent < 20 * 1024 * 1024 and response is not None
    status, headers, body = response
    assert status == 413 and headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "taille maximale" in page and f'href="{path}"' in page
    assert author  # the guard answers before authentication: no body is read for anyone


def test_a_stalled_upload_times_out(live_server, make_pro, make_patient, settings):
    settings.upload_idle_timeout_s = 0.5
    author, rec = make_pro(), make_pro()
    start = _multipart_start(_meta(make_patient(), rec))
    head = _head(
        "/api/v1/documents",
        {
            **author.headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(start) + 10_000),
        },
    )
    with _connect(live_server.url) as sock:
        sock.sendall(head + start)  # ... and then nothing more
        status, _headers, body = _read_response(sock)
    assert status == 408
    answer = json.loads(body)
    assert answer["code"] == "upload_timeout" and "Rien n'a été envoyé" in answer["message"]


def test_an_upload_within_the_limit_still_works_chunked(live_server, make_pro, make_patient, pdf):
    author, rec = make_pro(), make_pro()
    data = pdf("Compte rendu", padding=500_000)
    body = (
        _multipart_start(_meta(make_patient(), rec))[: -len(b"%PDF-1.7\n")]
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = _head(
        "/api/v1/documents",
        {
            **author.headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        },
    )
    framed = b"".join(_chunked(body[i : i + CHUNK]) for i in range(0, len(body), CHUNK))
    with _connect(live_server.url) as sock:
        sock.sendall(head + framed + b"0\r\n\r\n")
        status, _headers, answer = _read_response(sock)
    assert status == 201, answer
    assert uuid.UUID(json.loads(answer)["document"]["id"])


# --- every other route: small JSON and form bodies (bodies.BodyGuard) ----------------------

MB = 1024 * 1024


def test_a_200_mb_json_login_is_cut_at_the_limit_and_memory_stays_flat(live_server):
    """Anonymous, chunked (no Content-Length): counted as it arrives, cut at 64 KiB."""
    head = _head(
        "/api/v1/auth/login",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        with _connect(live_server.url) as sock:
            sent, response = _send_until_answered(
                sock, head + _chunked(b'{"identifier": "'), _pdf_chunks(200 * MB, _chunked)
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the server stopped reading at the limit: the client could push only what the kernel's
    # socket buffers absorb, and the process (server and client) never held the body
    assert sent < 20 * MB, sent
    assert peak - before < 16 * MB, peak - before
    assert response is not None, f"no answer after {sent} bytes"
    status, headers, body = response
    assert status == 413 and headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == "body_too_large"
    assert "trop volumineuse (64 Ko au plus)" in answer["message"]


def test_a_200_mb_content_length_is_refused_before_the_body(live_server):
    head = _head(
        "/api/v1/auth/login",
        {"Content-Type": "application/json", "Content-Length": str(200 * MB)},
    )
    with _connect(live_server.url) as sock:
        sock.settimeout(10)  # unanswered, it would wait for 200 MB that never come
        sock.sendall(head)
        status, headers, body = _read_response(sock)
    assert status == 413 and json.loads(body)["code"] == "body_too_large"
    assert headers["connection"] == "close"


def _web_form_cut(live_server: Any, path: str) -> tuple[int, dict[str, str], str]:
    head = _head(
        path,
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        },
    )
    start = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fichier"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    with _connect(live_server.url) as sock:
        sent, response = _send_until_answered(
            sock, head + _chunked(start), _pdf_chunks(300 * MB, _chunked)
        )
    assert sent < 20 * MB, sent  # never spooled: the parser did not see past the limit
    assert response is not None, f"no answer after {sent} bytes"
    status, headers, body = response
    return status, headers, body.decode()


def test_an_oversized_login_form_is_cut_at_the_limit(live_server):
    status, headers, page = _web_form_cut(live_server, "/connexion")
    assert status == 413 and headers["content-type"].startswith("text/html")
    assert "trop volumineuse (64 Ko au plus)" in page and 'href="/connexion"' in page


def test_an_oversized_directory_import_is_cut_at_its_own_limit(live_server):
    status, headers, page = _web_form_cut(live_server, "/admin/annuaire-import")
    assert status == 413 and headers["content-type"].startswith("text/html")
    assert "Fichier non importé" in page and "Le fichier dépasse 2 Mo" in page
    assert 'href="/admin/annuaire-import"' in page


def test_a_directory_import_over_the_small_limit_but_within_its_own_is_read(live_server):
    """200 KB of CSV: past the JSON and forms limit, within the import's; the route runs (no
    session: it sends the visitor to the login page)."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fichier"; filename="a.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * 200_000
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = _head(
        "/admin/annuaire-import",
        {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(body)),
        },
    )
    with _connect(live_server.url) as sock:
        sock.sendall(head + body)
        status, headers, _body = _read_response(sock)
    assert status == 303 and headers["location"].startswith("/connexion")


def test_a_stalled_json_body_times_out(live_server, settings):
    settings.body_idle_timeout_s = 0.5
    start = b'{"identifier": "dr'
    head = _head(
        "/api/v1/auth/login",
        {"Content-Type": "application/json", "Content-Length": str(len(start) + 100)},
    )
    with _connect(live_server.url) as sock:
        sock.settimeout(10)  # far beyond the idle timeout: without one, this fails
        sock.sendall(head + start)  # ... and then nothing more
        status, _headers, body = _read_response(sock)
    assert status == 408
    answer = json.loads(body)
    assert answer["code"] == "body_timeout" and "Rien n'a été enregistré" in answer["message"]


def test_a_stalled_fhir_create_times_out(live_server, make_pro, settings):
    settings.upload_idle_timeout_s = 0.5
    author = make_pro()
    start = b'{"resourceType": "DocumentReference", "content": [{"attachment": {"data": "JVBE'
    head = _head(
        "/fhir/r4/DocumentReference",
        {
            **author.headers,
            "Content-Type": "application/fhir+json",
            "Content-Length": str(len(start) + 100_000),
        },
    )
    with _connect(live_server.url) as sock:
        sock.settimeout(10)
        sock.sendall(head + start)
        status, headers, body = _read_response(sock)
    assert status == 408 and headers["content-type"].startswith("application/fhir+json")
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "ne recevait plus de données" in json.dumps(outcome, ensure_ascii=False)


def test_a_chunked_fhir_create_over_the_document_limit_is_cut(live_server, make_pro):
    author = make_pro()
    head = _head(
        "/fhir/r4/DocumentReference",
        {
            **author.headers,
            "Content-Type": "application/fhir+json",
            "Transfer-Encoding": "chunked",
        },
    )
    with _connect(live_server.url) as sock:
        sent, response = _send_until_answered(
            sock, head + _chunked(b'{"resourceType": "'), _pdf_chunks(60 * MB, _chunked)
        )
    assert sent < 20 * MB and response is not None
    status, _headers, body = response
    assert status == 413
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "taille maximale" in json.dumps(outcome, ensure_ascii=False)


def test_small_bodies_within_the_limit_are_unaffected(live_server, make_pro):
    """Chunked or not, a body under 64 KiB reaches its route (a wrong password here)."""
    pro = make_pro()
    for padding in (10, 60_000):
        body = json.dumps({"identifier": pro.login, "password": "x" * padding}).encode()
        framed = b"".join(_chunked(body[i : i + 4096]) for i in range(0, len(body), 4096))
        head = _head(
            "/api/v1/auth/login",
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        with _connect(live_server.url) as sock:
            sock.sendall(head + framed + b"0\r\n\r\n")
            status, _headers, answer = _read_response(sock)
        assert status not in (408, 413), answer
        assert json.loads(answer)["code"] != "body_too_large"
