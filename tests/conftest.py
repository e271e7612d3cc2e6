"""Shared fixtures: a real database (SQLite, or PostgreSQL with SISRA_TEST_DATABASE_URL),
migrated once per run and emptied before each test, and the real app over HTTP."""

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from needs import PROGRAMS, need, present, required, summary_lines
from sisra.devtools.children import die_with_parent, end, wait_http
from sisra.devtools.ports import free_port, listening_socket, start_on_fresh_ports
from sisra.platform.app import create_app
from sisra.platform.context import SYSTEM
from sisra.platform.db import make_engine, make_session_factory, unit_of_work
from sisra.platform.directory import service as directory
from sisra.platform.migrate import upgrade
from sisra.platform.models import Base, Role
from sisra.settings import Settings

PASSWORD = "Motdepasse-2026!"


def pytest_collection_finish(session: pytest.Session) -> None:
    """What exists once the tests are collected (modules, classes, the app's code) lives for
    the whole run: out of the collector's sight, a full collection only walks what the tests
    make since, and stays short (a long pause makes a live server miss a client's timeout)."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(*programs): system programs the test needs (tests/needs.py)"
    )


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Without Qt's system libraries the desktop tests cannot even be imported: leave them out
    with the summary line (a failure under SISRA_REQUIRE_SYSTEM=1, where they are collected)."""
    is_desktop = collection_path.name == "desktop" and collection_path.parent.name == "tests"
    if is_desktop and not present("qt") and not required():
        from needs import missing_seen

        missing_seen["qt"] = missing_seen.get("qt", 0) + 1
        return True
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        unknown = [name for name in mark.args if name not in PROGRAMS]
        assert not unknown, f"unknown program(s) in @pytest.mark.needs: {unknown}"
        need(*mark.args)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("programmes système manquants")
        for line in lines:
            terminalreporter.write_line(line)


# Qt runs offscreen in tests (real Qt, no screen); set before any QApplication exists.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def wait_until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Poll ``condition`` (outside Qt's event loop; Qt tests use ``qtbot.waitUntil``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def _prepare_postgres(url: str) -> None:
    """Recreate the test database so every run starts from the migrations."""
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                "AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@pytest.fixture
def scratch_url(tmp_path: Path, is_postgres: bool, database_url: str) -> Iterator[str]:
    """An empty database of the test's own (a migration tested on data of its own)."""
    if is_postgres:
        url = database_url + "_scratch"
        _prepare_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
    yield url
    if is_postgres:
        base, _, name = url.rpartition("/")
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SISRA_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        # one database per pytest-xdist worker, should we ever run in parallel
        url = url + os.environ.get("PYTEST_XDIST_WORKER", "")
        _prepare_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sisra.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "counters"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (table names from metadata)
        conn.execute(text("UPDATE counters SET value = 0, last_hash = :h"), {"h": "0" * 64})


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[Any]:
    """A real SMTP server on loopback that keeps the codes the platform e-mails."""
    from sisra.devtools.smtp_sink import SmtpSink

    sink = SmtpSink(port=free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3-compatible server (SeaweedFS) on loopback, shared by the whole run."""
    from sisra.devtools.s3_server import S3Server

    with S3Server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def settings(database_url: str, engine: Engine, tmp_path: Path, smtp_sink: Any) -> Settings:
    _empty(engine)
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        otp_resend_cooldown_s=2,
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        max_document_bytes=2 * 1024 * 1024,
        events_keepalive_seconds=0.5,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.fixture
def db(settings: Settings, engine: Engine) -> Callable[[], "object"]:
    """``with db() as session:`` — a unit of work on the test database."""
    factory = make_session_factory(engine)
    return lambda: unit_of_work(factory)


def otp_login(
    client: Any, sink: Any, login: str, email: str, password: str = PASSWORD, **device: Any
) -> dict[str, Any]:
    """The whole two-step login through the API and the real SMTP sink; returns the tokens."""
    r = client.post("/api/v1/auth/login", json={"identifier": login, "password": password})
    assert r.status_code == 200, r.text
    mail = sink.last_to(email)
    assert mail is not None and mail.code(), "no code was e-mailed"
    body = {"flow_id": r.json()["flow_id"], "code": mail.code(), **device}
    v = client.post("/api/v1/auth/otp/verify", json=body)
    assert v.status_code == 200, v.text
    tokens: dict[str, Any] = v.json()
    return tokens


@dataclass
class Persona:
    id: uuid.UUID
    login: str
    name: str
    headers: dict[str, str]


@pytest.fixture
def make_pro(
    db: Callable[[], "object"], app_client: TestClient, smtp_sink: Any
) -> Callable[..., Persona]:
    """Create a professional in the directory and log them in through the API."""
    counter = iter(range(1, 10_000))

    def _make(
        login: str | None = None,
        *,
        role: Role = Role.professional,
        first_name: str = "Camille",
        last_name: str | None = None,
        city: str = "Lyon",
        specialty: str | None = None,
        profession: str = "Médecin",
        log_in: bool = True,
    ) -> Persona:
        n = next(counter)
        login = login or f"pro{n}"
        from sisra.common.identifiers import luhn_complete

        with db() as session:  # type: ignore[attr-defined]
            assert isinstance(session, Session)
            pro = directory.create(
                session,
                SYSTEM,
                directory.NewProfessional(
                    first_name=first_name,
                    last_name=last_name or f"Martin{n}",
                    profession=profession,
                    email=f"{login}@demo.sisra.test",
                    login=login,
                    rpps=luhn_complete(f"10{n:08d}") if role == Role.professional else None,
                    specialty=specialty,
                    city=city,
                    role=role,
                    password=PASSWORD,
                ),
            )
            pro_id, name = pro.id, pro.display_name
        headers: dict[str, str] = {}
        if log_in:
            tokens = otp_login(app_client, smtp_sink, login, f"{login}@demo.sisra.test")
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        return Persona(pro_id, login, name, headers)

    return _make


def make_pdf(text_line: str = "Compte rendu", pages: int = 1, padding: int = 0) -> bytes:
    """A real PDF made with reportlab; ``padding`` adds incompressible bytes to grow it."""
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=0)
    for i in range(pages):
        c.drawString(72, 720, f"{text_line} — page {i + 1}")
        c.showPage()
    if padding:
        # an incompressible comment block keeps the file a valid PDF
        c.setKeywords(secrets.token_hex(padding // 2))
    c.save()
    return buf.getvalue()


def slow_to_draw_pdf(shapes: int = 200_000) -> bytes:
    """A valid one-page PDF of about 100 KB whose page takes minutes to draw: ``shapes``
    filled page-sized triangles (a million path operators), in one compressed content
    stream. Each triangle makes PDFium rasterize the whole page again (136 s on a 2-core test
    machine with the default 200,000). The corners vary a little (a fixed seed) so that the
    stream compresses to tens of kilobytes rather than a few."""
    import random
    import zlib

    pick = random.Random(18).choice
    content = b"".join(
        b"0 0 m 595 842 l %d 842 l h f\n" % pick((0, 1, 2, 3)) for _ in range(shapes)
    )
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def pdf() -> Callable[..., bytes]:
    return make_pdf


@pytest.fixture
def make_patient(db: Callable[[], "object"]) -> Callable[..., uuid.UUID]:
    from datetime import date

    from sisra.platform.patients import service as patients

    counter = iter(range(1, 10_000))

    def _make(birth_name: str = "DUPONT", given: str = "Jeanne") -> uuid.UUID:
        n = next(counter)
        with db() as session:  # type: ignore[attr-defined]
            p = patients.create(
                session,
                SYSTEM,
                patients.NewPatient(
                    birth_name=birth_name,
                    birth_given_names=[given, f"Marie{n}"],
                    first_given_name=f"{given}{n}",
                    birth_date=date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                    sex="F",
                ),
            )
            return p.id

    return _make


@dataclass
class LiveServer:
    url: str
    app: object


class RunningServer:
    """The real app served by uvicorn on a loopback port, in a thread; ``stop()`` and a new
    ``RunningServer`` on the same port make a platform that goes down and comes back.

    ``listen``: the port to serve on, or a socket already listening (see
    ``sisra.devtools.ports``: uvicorn serves on a socket bound beforehand, so no other
    process can take the port between its choice and the bind); ``uvicorn``: options of
    ``uvicorn.Config`` over the defaults below."""

    def __init__(
        self, settings: Settings, listen: "int | socket.socket | None" = None, **uvicorn: Any
    ) -> None:
        import threading

        from uvicorn import Config, Server

        sock = listen if isinstance(listen, socket.socket) else listening_socket(listen or 0)
        self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        options = {
            "log_level": "warning",
            "timeout_graceful_shutdown": 1,
            # as `sisra serve`: the app alone decides whom to believe (SISRA_TRUSTED_PROXIES)
            "proxy_headers": False,
            **uvicorn,  # e.g. a test of the access log turns it on
        }
        self.server = Server(Config(self.app, **options))
        self._sock = sock
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        # started = the app's startup ran and the socket is served; never a silent fall
        # through to tests that would then fail far from the cause
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the platform did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self._sock.close()
        self.app.state.engine.dispose()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app served by uvicorn on a loopback port, in a thread."""
    running = RunningServer(settings)
    yield LiveServer(running.url, running.app)
    running.stop()


@pytest.fixture
def password() -> str:
    return PASSWORD


def share_request(
    client: Any, sender: Persona, patient_id: Any, recipients: list[Any], data: bytes, **meta: Any
) -> Any:
    """POST /api/v1/documents through ``client`` (a TestClient or an httpx.Client)."""
    import json
    from datetime import date

    metadata = {
        "patient_id": str(patient_id),
        "title": meta.pop("title", "Compte rendu de consultation"),
        "type_code": meta.pop("type_code", "cr_consultation"),
        "clinical_date": meta.pop("clinical_date", date.today().isoformat()),
        "recipients": [str(getattr(r, "id", r)) for r in recipients],
        **meta,
    }
    return client.post(
        "/api/v1/documents",
        headers=sender.headers,
        data={"metadata": json.dumps(metadata)},
        files={"file": ("document.pdf", data, "application/pdf")},
    )


@pytest.fixture
def share() -> Callable[..., Any]:
    return share_request


def _serve_process(settings: Settings) -> tuple["subprocess.Popen[bytes]", str]:
    """`sisra serve` on a fresh port, answering; RuntimeError (and nothing left running)
    when it exits first, its port taken meanwhile, or does not answer."""
    port = free_port()
    env = {
        **os.environ,
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        "SISRA_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
        "SISRA_SMTP_HOST": settings.smtp_host,
        "SISRA_SMTP_PORT": str(settings.smtp_port),
        "SISRA_MAX_DOCUMENT_BYTES": str(settings.max_document_bytes),
        "SISRA_EVENTS_KEEPALIVE_SECONDS": str(settings.events_keepalive_seconds),
        "SISRA_OTP_RESEND_COOLDOWN_S": str(settings.otp_resend_cooldown_s),
        "SISRA_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sisra.cli", "serve", "--port", str(port), "--no-upgrade"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v1/health", 60, alive=lambda: proc.poll() is None)
    except RuntimeError as exc:
        end(proc)
        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else str(exc)) from exc
    return proc, url


@pytest.fixture
def platform_process(settings: Settings) -> Iterator[LiveServer]:
    """The platform as users run it: a `sisra serve` subprocess on this test's database."""
    proc, url = start_on_fresh_ports(lambda: _serve_process(settings), lambda: None, RuntimeError)
    try:
        yield LiveServer(url, None)
    finally:
        end(proc)


# --- browser tests: Playwright in Debian's Chromium (no browser download) -----------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    need("chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def web_as(live_server: Any, page: Any) -> Any:
    """``web_as(persona, target)`` opens ``target`` logged in, through a one-time web ticket."""

    def _open(persona: Any, target: str = "/accueil") -> Any:
        r = httpx.post(
            f"{live_server.url}/api/v1/auth/web-ticket",
            headers=persona.headers,
            json={"target": target},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        path = "/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1]
        page.goto(live_server.url + path)
        return page

    return _open


# --- desktop (MonSisra, PySide6): accounts in a temporary home, CPS cards on SoftHSM2 ------


@pytest.fixture
def account_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The accounts of "this computer": a fresh MonSisra home, fast KDF (tests only)."""
    from sisra.client.accounts import AccountStore
    from sisra.client.vault import KdfParams

    home = tmp_path / "monsisra"
    monkeypatch.setenv("MONSISRA_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # autostart entries
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the applications menu
    return AccountStore(home, kdf=KdfParams(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def cps_trust(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The platform trusts the demo CA (and its CRL), as a region trusts IGC-Santé."""
    from sisra.devtools import cards

    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))  # restored after
    _ca, cert, crl = cards.demo_pki(settings.data_dir)
    settings.cps_trust_anchors = [cert]
    settings.cps_crls = [str(crl)]
    return settings


@pytest.fixture
def insert_card(
    cps_trust: Settings, db: Callable[[], Any], tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    """« Insert » a CPS card of a professional: a SoftHSM2 token with a key generated on it and
    a certificate from the demo CA; SOFTHSM2_CONF then points at it. PIN 1234."""
    from sisra.devtools import cards
    from sisra.devtools.softhsm import SOFTHSM_MODULE
    from sisra.platform.models import Professional

    need("softhsm")

    def _insert(persona: Any) -> Any:
        with db() as session:
            pro = session.get(Professional, persona.id)
            national_id = "8" + pro.rpps
            first, last = pro.first_name, pro.last_name
        card = cards.make_demo_card(
            cps_trust.data_dir,
            national_id,
            first,
            last,
            persona.login,
            softhsm_dir=tmp_path / "softhsm" / persona.login,
        )
        os.environ["SISRA_PKCS11_MODULE"] = SOFTHSM_MODULE
        return card

    yield _insert
    os.environ.pop("SISRA_PKCS11_MODULE", None)


# --- Pro Santé Connect (e-CPS): a real OpenID Connect provider (npm oidc-provider) ----------

PSC_CLIENT = "sisra-test"
PSC_CLIENT_JWT = "sisra-test-jwt"  # the same, with a signed (JWT) userinfo


@pytest.fixture(scope="session")
def psc_op() -> Iterator[Any]:
    """The provider on a free loopback port, shared by the run; ``npm ci`` once, cached."""
    from sisra.devtools.oidc_provider import OidcProvider, TestClientRegistration

    need("node")
    clients = [
        TestClientRegistration(PSC_CLIENT),
        TestClientRegistration(PSC_CLIENT_JWT, signed_userinfo=True),
    ]
    with OidcProvider(clients) as op:
        yield op


@pytest.fixture
def psc_server(settings: Settings, psc_op: Any) -> Iterator[LiveServer]:
    """The platform on loopback, registered with the provider (its public URL is its own)."""
    from pydantic import SecretStr

    sock = listening_socket()
    settings.public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings.psc_issuer = psc_op.issuer
    settings.psc_client_id = PSC_CLIENT
    settings.psc_client_secret = SecretStr(psc_op.clients[PSC_CLIENT].client_secret)
    running = RunningServer(settings, sock)
    yield LiveServer(running.url, running.app)
    running.stop()


def national_id_of(db: Callable[[], Any], persona: Any) -> str:
    from sisra.platform.models import Professional

    with db() as session:
        nid = session.get(Professional, persona.id).national_id
    assert nid
    return str(nid)


def psc_provider_login(page: Any, national_id: str) -> None:
    """On the provider's page (it stands for the e-CPS app): type the national id, confirm."""
    page.get_by_label("Identifiant national").fill(national_id)
    page.get_by_role("button", name="Valider avec e-CPS").click()
