"""Upload size and pace are enforced while the body is read, against a live uvicorn server.

Raw sockets, so that the test controls exactly what is sent and sees when the server answers:
a 60 MB chunked upload must be answered 413 long before the client has sent it all.
"""

import json
import select
import socket
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
