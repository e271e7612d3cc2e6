"""Alerts: one notification per new document, a summary when many arrive together, none when
switched off; the icon carries the unread count."""

from dataclasses import replace

from sisra.client.items import InboxItem
from sisra.client.state import ItemState
from sisra.desktop.icons import app_pixmap
from sisra.desktop.tray import BURST_MAX, Alerts
from support.export import first_platform_item


def received(n: int) -> ItemState:
    data = first_platform_item(id=f"n{n}", cursor=n)
    data["document"]["title"] = f"Compte rendu {n}"
    data["sender"]["name"] = "Dr Paul MARTIN"
    data["patient"].update(birth_name="SECRET", first_given_name="Patient")
    item = InboxItem.from_json(data)
    return ItemState(f"n{n}", n, item, "pending", 0, 0.0, None, None, [], False)


def collect(qtbot, alerts: Alerts, states: list[ItemState]) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    alerts.alerted.connect(lambda title, message: got.append((title, message)))
    for st in states:
        alerts.new_document(st)
    qtbot.wait(1500)  # past the grouping delay
    return got


def test_one_alert_per_document_without_the_patient(qtbot):
    got = collect(qtbot, Alerts(), [received(1), received(2)])
    assert [m for _t, m in got] == [
        "Compte rendu 1 — de Dr Paul MARTIN",
        "Compte rendu 2 — de Dr Paul MARTIN",
    ]
    assert all("SECRET" not in m for _t, m in got)  # screens others may see


def test_many_at_once_make_one_summary(qtbot):
    got = collect(qtbot, Alerts(), [received(n) for n in range(BURST_MAX + 2)])
    assert got == [
        ("MonSisra", f"{BURST_MAX + 2} nouveaux documents reçus. Ouvrez MonSisra pour les voir.")
    ]


def test_alerts_switched_off(qtbot):
    alerts = Alerts()
    alerts.enabled = False
    assert collect(qtbot, alerts, [received(1)]) == []


def test_the_icon_shows_the_unread_count(qapp):
    def red_pixels(count: int) -> int:
        image = app_pixmap(64, count).toImage()
        return sum(
            1
            for y in range(0, 64, 2)
            for x in range(0, 64, 2)
            if image.pixelColor(x, y).red() > 180 and image.pixelColor(x, y).green() < 80
        )

    assert red_pixels(0) == 0 and red_pixels(3) > 20  # the red badge
    assert app_pixmap(64, 3).toImage() != app_pixmap(64, 4).toImage()  # with its number
    assert app_pixmap(64, 150).toImage() == app_pixmap(64, 120).toImage()  # « 99+ »
    alerts = Alerts()
    alerts.set_unread(2)
    assert alerts.tooltip == "MonSisra — 2 documents non lus"


def test_a_failed_export_is_said_once_without_the_patient(qtbot):
    alerts = Alerts()
    got: list[tuple[str, str]] = []
    alerts.alerted.connect(lambda title, message: got.append((title, message)))
    st = received(1)
    for attempt in (1, 2, 3):  # the first failure, then two automatic retries that fail
        alerts.export_failed(replace(st, status="failed", attempts=attempt))
    assert got == [
        (
            "Document non enregistré",
            "« Compte rendu 1 » de Dr Paul MARTIN n'a pas pu être enregistré dans votre "
            "répertoire. Ouvrez MonSisra : menu « Documents non enregistrés ».",
        )
    ]
    alerts.enabled = False
    alerts.export_failed(replace(received(2), status="failed", attempts=1))
    assert len(got) == 1
