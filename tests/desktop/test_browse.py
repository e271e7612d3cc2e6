"""The « Parcourir… » buttons open Qt's own file dialog (offscreen there is no native one):
the tests answer the real dialog as a user would, by choosing a path and accepting, or by
cancelling."""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QPushButton, QToolButton

from sisra.desktop.exportchoice import ExportChoice
from sisra.desktop.strongauth import StrongAuthPanel

WAIT = 20_000


def answer_file_dialog(answer: Callable[[QFileDialog], None]) -> list[str]:
    """Answer the next modal file dialog with ``answer``; returns its title once seen."""
    seen: list[str] = []
    tries = iter(range(200))  # 10 s: never left polling after the test

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            seen.append(dialog.windowTitle())
            QTimer.singleShot(2000, dialog, close_leftovers)  # cancelled once it is gone
            answer(dialog)
        elif next(tries, None) is not None:
            QTimer.singleShot(50, poll)

    def close_leftovers() -> None:
        # a dialog still open (a warning box over an unaccepted choice, say) would block the
        # test forever: closed, so that the test fails on its assertions instead
        while (leftover := QApplication.activeModalWidget()) is not None:
            seen.append(f"resté ouvert : {leftover.windowTitle()}")
            leftover.close()

    QTimer.singleShot(0, poll)
    return seen


def choose(path: Path) -> Callable[[QFileDialog], None]:
    def answer(dialog: QFileDialog) -> None:
        # as a user does: go to the parent, select the entry (folder or file), « Choisir »
        dialog.setDirectory(str(path.parent))
        dialog.selectFile(path.name)
        dialog.accept()

    return answer


def click(qtbot, widget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))


def test_browse_chooses_the_folder_and_cancel_keeps_it(qtbot, tmp_path):
    choice = ExportChoice()
    qtbot.addWidget(choice)
    choice.show()
    choice.set_values("hprim", None)
    target = tmp_path / "Imports HPRIM"
    target.mkdir()
    browse = choice.findChild(QPushButton, "browse")

    seen = answer_file_dialog(choose(target))
    click(qtbot, browse)  # returns once the dialog is answered
    assert seen == ["Répertoire d'enregistrement des documents"]
    assert choice.folder() == target
    assert choice.findChild(QLineEdit, "folder").text() == str(target)
    choice.set_values("scan", target)  # a chosen folder no longer follows the profile
    assert choice.folder() == target

    seen = answer_file_dialog(lambda dialog: dialog.reject())
    click(qtbot, browse)
    assert len(seen) == 1 and choice.folder() == target  # « Annuler » changes nothing


def test_card_library_chosen_with_browse_after_a_wrong_one(
    insert_card, qtbot, live_server, make_pro, tmp_path
):
    from sisra.devtools.softhsm import SOFTHSM_MODULE

    pro = make_pro("marc.lefort", first_name="Marc", last_name="Lefort", log_in=False)
    insert_card(pro)
    panel = StrongAuthPanel(live_server.url, mode="card")
    qtbot.addWidget(panel)
    panel.show()
    module = panel.findChild(QLineEdit, "module")
    assert not module.isVisible()
    click(qtbot, panel.findChild(QToolButton, "advanced"))  # « Options avancées »
    assert module.isVisible()
    not_a_library = tmp_path / "cryptolib.so"
    not_a_library.write_text("ceci n'est pas une bibliothèque")
    module.setText(str(not_a_library))
    pin = panel.findChild(QLineEdit, "pin")
    qtbot.keyClicks(pin, "1234")
    qtbot.keyClick(pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "n'a pas pu être chargée" in panel.error_text(), timeout=WAIT)
    assert str(not_a_library) in panel.error_text() and panel.credentials is None

    seen = answer_file_dialog(choose(Path(SOFTHSM_MODULE)))
    click(qtbot, panel.findChild(QPushButton, "module_browse"))
    assert seen == ["Bibliothèque de la carte (cryptolib CPS)"]
    assert Path(module.text()) == Path(SOFTHSM_MODULE)
    assert pin.text() == ""  # a PIN is never kept after a failure: typed again
    qtbot.keyClicks(pin, "1234")
    with qtbot.waitSignal(panel.authenticated, timeout=WAIT) as signal:
        click(qtbot, panel.findChild(QPushButton, "card_submit"))
    assert signal.args[0].access_token and panel.credentials is signal.args[0]
