"""« Télécharger MonSisra »: the installers the operator offers, served safely, and the
update-check endpoint."""

import hashlib
from pathlib import Path

import pytest

from sisra.platform.settings import Settings


@pytest.fixture
def downloads(settings: Settings) -> Path:
    folder = settings.effective_downloads_dir
    folder.mkdir(parents=True)
    return folder


def test_downloads_dir_defaults_under_the_data_dir(settings: Settings, tmp_path: Path) -> None:
    assert settings.effective_downloads_dir == settings.data_dir / "downloads"
    other = Settings(data_dir=tmp_path, downloads_dir=tmp_path / "x", _env_file=None)  # type: ignore[call-arg]
    assert other.effective_downloads_dir == tmp_path / "x"


def test_nothing_offered_every_system_is_coming_soon(app_client) -> None:
    page = app_client.get("/telecharger")
    assert page.status_code == 200
    assert page.text.count("Bientôt disponible") == 3
    assert "cryptolib CPS" in page.text and "PDF" in page.text
    latest = app_client.get("/api/v1/monsisra/latest").json()
    assert latest["version"] is None
    assert latest["files"] == {"linux": None, "windows": None, "macos": None}


def test_the_newest_deb_is_offered_with_size_and_sha256(app_client, downloads: Path) -> None:
    old = b"old package"
    new = b"\x00new package" * 1000
    (downloads / "monsisra_0.9.0_amd64.deb").write_bytes(old)
    (downloads / "monsisra_0.10.0_amd64.deb").write_bytes(new)  # 0.10 > 0.9
    (downloads / "notes.txt").write_text("not an installer")
    digest = hashlib.sha256(new).hexdigest()

    page = app_client.get("/telecharger")
    assert "monsisra_0.10.0_amd64.deb" in page.text and digest in page.text
    assert "monsisra_0.9.0" not in page.text and "notes.txt" not in page.text
    assert page.text.count("Bientôt disponible") == 2  # Windows and macOS

    latest = app_client.get("/api/v1/monsisra/latest").json()
    assert latest["version"] == "0.10.0"
    linux = latest["files"]["linux"]
    assert linux["sha256"] == digest and linux["size"] == len(new)
    assert linux["url"].endswith("/telecharger/monsisra_0.10.0_amd64.deb")
    assert latest["files"]["windows"] is None

    got = app_client.get("/telecharger/monsisra_0.10.0_amd64.deb")
    assert got.status_code == 200 and got.content == new
    assert got.headers["x-content-sha256"] == digest
    assert "attachment" in got.headers["content-disposition"]


def test_a_windows_installer_replaces_coming_soon(app_client, downloads: Path) -> None:
    (downloads / "MonSisra-0.2.0.msi").write_bytes(b"msi")
    page = app_client.get("/telecharger")
    assert "MonSisra-0.2.0.msi" in page.text and page.text.count("Bientôt disponible") == 2
    assert app_client.get("/api/v1/monsisra/latest").json()["files"]["windows"]["version"] == (
        "0.2.0"
    )


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fsisra.db",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "secret.deb",
        "monsisra_0.9.0_amd64.deb",  # an older one: only the offered files are served
        "link_9.9.9_amd64.deb",
    ],
)
def test_only_offered_files_are_served(
    app_client, settings: Settings, downloads: Path, name: str
) -> None:
    (downloads / "monsisra_0.9.0_amd64.deb").write_bytes(b"old")
    (downloads / "monsisra_1.0.0_amd64.deb").write_bytes(b"new")
    (downloads / "secret.deb").write_bytes(b"secret")
    (settings.data_dir / "sisra.db").touch()
    outside = settings.data_dir / "outside.deb"
    outside.write_bytes(b"outside")
    (downloads / "monsisra_9.9.9_amd64.deb").symlink_to(outside)  # a link out: never offered
    response = app_client.get(f"/telecharger/{name}")
    assert response.status_code == 404
    assert response.content not in (b"old", b"secret", b"outside", b"")
    if "%2F" not in name:  # a slash never reaches the route at all
        assert response.json()["code"] == "download_not_found"
        assert "Télécharger MonSisra" in response.json()["message"]
    assert app_client.get("/api/v1/monsisra/latest").json()["version"] == "1.0.0"


def test_home_and_login_pages_link_to_the_download_page(app_client, make_pro) -> None:
    assert 'href="/telecharger"' in app_client.get("/connexion").text
    pro = make_pro("telecharge")
    r = app_client.post("/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"})
    app_client.get(r.json()["url"].split("127.0.0.1:8000", 1)[1])
    home = app_client.get("/accueil")
    assert "Bonjour" in home.text and 'href="/telecharger"' in home.text


def test_the_home_page_tells_the_truth(app_client, make_pro) -> None:
    """The main pages are in the menu: the home page leads to them, promises nothing more,
    and its title is its title (no paragraph in <title>)."""
    pro = make_pro("accueil")
    r = app_client.post("/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"})
    app_client.get(r.json()["url"].split("127.0.0.1:8000", 1)[1])
    home = app_client.get("/accueil").text
    assert "prochaine version" not in home
    for path in ("/documents-recus", "/envoyer", "/identites-a-rapprocher"):
        assert f'href="{path}"' in home.split("<main", 1)[1], path
    title = home.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Accueil" in title
