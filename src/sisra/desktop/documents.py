"""DOCUMENTS REÇUS: the received documents of the logged-in user, and what to do with them.

Open (click the title), preview (hover the title), reply, the patient's record (the folder
button beside the name), « Envoyer un document », right-click → « Supprimer », the menu
(folder, settings, failures, logout, about, quit), search and filter; banners say when the
server cannot be reached or strong authentication must be renewed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sisra import __version__
from sisra.client import updates
from sisra.client.accounts import AccountError, AccountStore
from sisra.client.api import ApiError
from sisra.client.errors import DISABLED, EXPIRED, PLATFORM, STRONG_AUTH, advice, describe
from sisra.client.opener import OpenFailed
from sisra.client.region import display_zone, operator
from sisra.client.state import ItemState
from sisra.desktop import columns
from sisra.desktop.config import help_line
from sisra.desktop.header_arrows import HeaderArrows
from sisra.desktop.model import (
    COL_DATE,
    COL_PATIENT,
    COL_RECORD,
    COL_REPLY,
    COL_SENDER,
    COL_STATUS,
    COL_TITLE,
    COL_TYPE,
    FIELDS,
    DocumentsModel,
    Row,
    make_rows,
)
from sisra.desktop.preview import PreviewPopup, PreviewRenderer
from sisra.desktop.session import AccountSession
from sisra.desktop.system_open import open_in_browser, open_with_system
from sisra.desktop.tasks import describe_error, run_task
from sisra.desktop.tray import Alerts

HOVER_MS = 350
COLUMNS_SAVE_MS = 800  # after the user stops dragging a column edge
# the engine waits and tries again by itself in these states
WAITING = ("offline", PLATFORM, "error")
PAUSED = " La réception des documents est en pause ; rien n'est perdu."
BANNER = "QLabel {{ background: {bg}; color: {fg}; padding: 8px; border-radius: 4px; }}"


class DocumentsWindow(QMainWindow):
    logout_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        session: AccountSession,
        store: AccountStore,
        alerts: Alerts,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.store, self.alerts = session, store, alerts
        self.quitting = False
        self.told_about_tray = False
        # how files and pages leave MonSisra; replaceable where no viewer exists (tests)
        self.open_file: Callable[[Path], None] = open_with_system
        self.open_url: Callable[[str], None] = open_in_browser
        self.confirm_box: QMessageBox | None = None
        self.dialog: QWidget | None = None  # the settings/failures/reauth dialog shown last
        self._reauth: QWidget | None = None

        self.setObjectName("documents")
        self.setWindowTitle(f"Documents reçus — {session.account.display_name}")
        self.resize(1180, 640)
        self.model = DocumentsModel(self)
        self.renderer = PreviewRenderer(self)
        self.popup = PreviewPopup(self)
        self._hover: tuple[str, QPoint] | None = None
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_MS)
        self._hover_timer.timeout.connect(self._show_preview)
        self._fitting = False

        self._build()
        # the preview belongs to a row where the mouse was: once rows move (a new document,
        # a sort, a banner pushing the table down, a scroll) it would point at another one
        for signal in (
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.modelReset,
            self.model.layoutChanged,
        ):
            signal.connect(lambda *_args: self._hide_preview())
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._hide_preview())
        session.item_changed.connect(self._item_changed)
        session.status_changed.connect(self._status_changed)
        self.renderer.ready.connect(self._preview_ready)
        self.renderer.failed.connect(self._preview_failed)
        self._status_changed(*session.status)
        self.reload()
        self.check_for_update()

    # layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        # the window top to bottom: heading, banners, search and filter, the table, status bar
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self._build_head(layout)
        self._build_banners(layout)
        self._build_tools(layout)
        self._build_table(layout)
        self.setCentralWidget(central)

        self.connection_label = QLabel()
        self.counts_label = QLabel()
        self.statusBar().addWidget(self.connection_label, 1)
        self.statusBar().addPermanentWidget(self.counts_label)

        delete = QAction("Supprimer", self)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.triggered.connect(self._delete_selected)
        self.table.addAction(delete)

    def _build_head(self, layout: QVBoxLayout) -> None:
        """« DOCUMENTS REÇUS », the account, « Envoyer un document » and the menu."""
        head = QHBoxLayout()
        title = QLabel("DOCUMENTS REÇUS")
        title.setObjectName("heading")
        title.setStyleSheet("font-size: 18px; font-weight: bold; color: #1f5fa8;")
        who = QLabel(self.session.account.display_name)
        who.setStyleSheet("color: #555;")
        self.send_button = QPushButton("Envoyer un document")
        self.send_button.setObjectName("send")
        self.send_button.clicked.connect(lambda: self.open_page("/envoyer"))
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("menu")
        self.menu_button.setText("☰ Menu")
        self.menu_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = self._make_menu()
        self.menu_button.setMenu(self.menu)
        head.addWidget(title)
        head.addSpacing(12)
        head.addWidget(who)
        head.addStretch(1)
        head.addWidget(self.send_button)
        head.addWidget(self.menu_button)
        layout.addLayout(head)

    def _build_banners(self, layout: QVBoxLayout) -> None:
        """The banners (offline, strong authentication due, failures, errors, update),
        hidden until needed."""
        self.offline_banner = self._banner("#fff4ce", "#5c4400")
        self.reauth_banner = self._banner("#ffe0cc", "#6b2600")
        self.reauth_banner.show()  # its row shows and hides it
        self.reauth_button = QPushButton("M'authentifier")
        self.reauth_button.setObjectName("reauth")
        self.reauth_button.clicked.connect(self.ask_reauth)
        self.reauth_row = QWidget()
        row = QHBoxLayout(self.reauth_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.reauth_banner, 1)
        row.addWidget(self.reauth_button)
        self.reauth_row.hide()
        self.failures_banner = self._banner("#fde7e9", "#8a0014")
        self.failures_banner.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.failures_banner.linkActivated.connect(lambda _link: self.show_failures())
        self.error_banner = self._banner("#fde7e9", "#8a0014")
        # discreet: a newer MonSisra is offered on the platform's download page
        self.update_banner = self._banner("#e8f1fb", "#1f3f66")
        self.update_banner.setObjectName("update")
        self.update_banner.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.update_banner.linkActivated.connect(self._open_download_page)
        self.offered_update: updates.Update | None = None
        for banner in (
            self.offline_banner,
            self.failures_banner,
            self.error_banner,
            self.update_banner,
        ):
            layout.addWidget(banner)
        layout.addWidget(self.reauth_row)

    def _build_tools(self, layout: QVBoxLayout) -> None:
        """The search field and the filter of the list."""
        tools = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Rechercher un patient, un expéditeur, un libellé…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.model.set_search)
        self.search.textChanged.connect(lambda _text: self._counts())
        self.filter_box = QComboBox()
        self.filter_box.setObjectName("filter")
        for label in ("Tous les documents", "Non lus", "En échec d'enregistrement"):
            self.filter_box.addItem(label)
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        tools.addWidget(self.search, 1)
        tools.addWidget(self.filter_box)
        layout.addLayout(tools)

    def _build_table(self, layout: QVBoxLayout) -> None:
        """The table of received documents: its columns, and what clicks, keys and its
        context menu do."""
        self.table = QTableView()
        self.table.setObjectName("table")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self._arrows = HeaderArrows()  # ▲ ascending, ▼ descending (header_arrows.py)
        self.table.horizontalHeader().setStyle(self._arrows)
        self.table.sortByColumn(COL_DATE, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setMouseTracking(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        for col, width in (
            (COL_DATE, 138),
            (COL_PATIENT, 200),
            (COL_RECORD, 30),
            (COL_SENDER, 175),
            (COL_TYPE, 120),
            (COL_STATUS, 120),
            (COL_REPLY, 30),
        ):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
        for col in (COL_RECORD, COL_REPLY):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
        # the user's widths, kept in the account's settings; else fitted to the first rows
        self._columns_restored = self._restore_columns()
        self._columns_timer = QTimer(self, singleShot=True, interval=COLUMNS_SAVE_MS)
        self._columns_timer.timeout.connect(self.save_columns)
        header.sectionResized.connect(self._column_resized)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.clicked.connect(self._clicked)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.entered.connect(self._entered)
        self.table.viewport().installEventFilter(self)
        self.table.installEventFilter(self)  # Entrée opens the current row's document
        layout.addWidget(self.table, 1)

    # columns ------------------------------------------------------------------------------
    def fit_columns(self) -> None:
        """Short columns (date, type, state…) as wide as their content, within bounds; the
        title takes the rest of the window (it is what a user reads)."""
        self._fitting = True
        try:
            columns.fit(self.table, self.model)
        finally:
            self._fitting = False

    def content_width(self, col: int) -> int:
        return columns.content_width(self.table, self.model, col)

    def _restore_columns(self) -> bool:
        saved = self.session.account.settings.table_columns
        if not saved:
            return False
        self._fitting = True
        try:
            header = self.table.horizontalHeader()
            state = QByteArray.fromBase64(saved.encode("ascii", "replace"))
            restored = bool(header.restoreState(state))
        finally:
            self._fitting = False
        return restored

    def _column_resized(self, col: int, _old: int, _new: int) -> None:
        header = self.table.horizontalHeader()
        if self._fitting or header.sectionResizeMode(col) != QHeaderView.ResizeMode.Interactive:
            return  # the title stretching with the window is not a choice of the user
        self._columns_timer.start()

    def save_columns(self) -> None:
        """Remember the column widths the user chose (account settings)."""
        self._columns_timer.stop()
        state = bytes(self.table.horizontalHeader().saveState().toBase64().data()).decode()
        if state == self.session.account.settings.table_columns:
            return
        try:
            account = self.store.update_settings(self.session.account.id, table_columns=state)
        except AccountError:
            return  # account removed meanwhile: nothing to remember it for
        self.session.account = account

    def _banner(self, bg: str, fg: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(BANNER.format(bg=bg, fg=fg))
        label.hide()
        return label

    def _make_menu(self) -> QMenu:
        menu = QMenu(self)
        entries: list[tuple[str, str, Callable[[], object]]] = [
            ("folder", "Répertoire d'enregistrement des documents…", self.show_folder),
            ("settings", "Paramétrages…", self.show_settings),
            ("failures", "Documents non enregistrés…", self.show_failures),
            ("outbox", "À envoyer…", self.show_outbox),
            ("send", "Envoyer un document", lambda: self.open_page("/envoyer")),
            ("", "", lambda: None),
            ("logout", "Déconnexion", self.logout),
            ("about", "À propos de MonSisra", self.show_about),
            ("quit", "Quitter MonSisra", self.quit_requested.emit),
        ]
        for name, label, slot in entries:
            if not name:
                menu.addSeparator()
                continue
            action = menu.addAction(label)
            action.setObjectName(name)
            action.triggered.connect(slot)
        return menu

    def action(self, name: str) -> QAction:
        found = self.menu.findChild(QAction, name)
        assert found is not None, name
        return found

    # data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)read the list from the local state, off the UI thread."""
        self.connection_label.setText("Chargement des documents…")

        def loaded(rows: list[Row]) -> None:
            self.model.set_rows(rows)
            if not self._columns_restored:
                self.fit_columns()
            self._counts()
            self._status_changed(*self.session.status)

        # the platform's zone, as it last said (sisra.client.region), else this computer's
        self.model.zone = display_zone(self.session.account.folder)
        zone = self.model.zone
        run_task(
            lambda: make_rows(*self.session.items(FIELDS), zone), loaded, self._error, owner=self
        )

    def _rezone(self) -> None:
        """The platform has just told its time zone (first connection): the rows' times in it."""
        zone = display_zone(self.session.account.folder)
        if zone == self.model.zone:
            return
        self.model.zone = zone
        run_task(
            lambda: make_rows(*self.session.items(FIELDS), zone),
            self.model.set_rows,
            self._error,
            owner=self,
        )

    def _item_changed(self, kind: str, st: ItemState | None) -> None:
        if st is None:
            return
        self.model.upsert(st)
        if kind == "new":
            self.alerts.new_document(st)
        elif kind == "failed":
            self.alerts.export_failed(st)
        self._counts()

    def _filter_changed(self, index: int) -> None:
        self.model.set_mode(DocumentsModel.MODES[index])
        self._counts()

    def _counts(self) -> None:
        total, unread = self.model.total(), self.model.unread_count()
        failed = self.model.failed_count()
        # the rows shown when a search or a filter hides some: « 3 documents sur 120 »
        shown = (
            f"{_n(self.model.rowCount(), 'document')} sur {total}"
            if self.model.filtered()
            else _n(total, "document")
        )
        self.counts_label.setText(f"{shown} · {_n(unread, 'non lu')}")
        self.alerts.set_unread(unread)
        if failed:
            verb = "n'ont pas pu être enregistrés" if failed > 1 else "n'a pas pu être enregistré"
            self.failures_banner.setText(
                f"{_n(failed, 'document')} {verb} dans votre répertoire. "
                "<a href='#'>Voir la raison et réessayer</a>"
            )
        self.failures_banner.setVisible(bool(failed))

    def _status_changed(self, code: str, message: str) -> None:
        if code == "online":
            self._rezone()
        waiting = code in WAITING
        self.offline_banner.setVisible(waiting)
        if waiting:
            todo = advice(code, "desktop") or "MonSisra réessaie automatiquement."
            self.offline_banner.setText(
                f"{message} {todo} Les documents déjà reçus restent disponibles."
            )
        needs_person = code not in ("online", "connecting", "syncing", *WAITING)
        was_shown = self.reauth_row.isVisible()
        self.reauth_row.setVisible(needs_person)
        if needs_person and code == "strong_auth_required" and not was_shown:
            # prompt once, at once: the user came for their documents, not for a banner
            self.alerts.notify(
                "Authentification forte à renouveler",
                "MonSisra a besoin de votre carte CPS ou d'un code reçu par e-mail.",
            )
            QTimer.singleShot(0, self.ask_reauth)
        if needs_person:
            todo = advice(code, "desktop") or "Cliquez sur «\u00a0M'authentifier\u00a0»."
            paused = "" if "pause" in message or "arrêtée" in message else PAUSED
            self.reauth_banner.setText(f"{message}{paused} {todo}")
        self.connection_label.setText(
            {
                "online": "Connecté à la plateforme Sisra — les documents arrivent en direct.",
                "connecting": "Connexion à la plateforme Sisra…",
                "offline": "Hors connexion : pas d'accès au réseau.",
                PLATFORM: "La plateforme ne répond pas.",
            }.get(code, message)
        )

    # actions on a document ----------------------------------------------------------------------
    def _state_at(self, index: QModelIndex) -> ItemState | None:
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.rows[index.row()].state

    def _clicked(self, index: QModelIndex) -> None:
        st = self._state_at(index)
        if st is None:
            return
        if index.column() == COL_TITLE:
            self.open_document(st)
        elif index.column() == COL_RECORD:
            self.open_record(st)
        elif index.column() == COL_REPLY:
            self.reply(st)

    def _double_clicked(self, index: QModelIndex) -> None:
        # the title, record and reply cells act on the first click already
        st = self._state_at(index)
        if st is not None and index.column() not in (COL_TITLE, COL_RECORD, COL_REPLY):
            self.open_document(st)

    def open_document(self, st: ItemState) -> None:
        """Open the PDF with the system viewer; the sender gets the « lu » receipt."""
        self.connection_label.setText(f"Ouverture de « {st.item.document.title} »…")

        def opened(path: Path) -> None:
            try:
                self.open_file(path)
            except (OpenFailed, OSError) as exc:
                self._error(exc)  # no viewer started: not read, no « lu » for the sender
                return
            self.model.mark_read(st.id)
            self._counts()
            self._status_changed(*self.session.status)
            run_task(lambda: self.session.mark_read(st), None, self._error, owner=self)

        run_task(lambda: self.session.pdf_path(st), opened, self._error, owner=self)

    def check_for_update(self) -> None:
        """Ask the platform (at most once a day) whether a newer MonSisra is offered."""
        folder = self.session.account.folder
        client = self.session.client
        run_task(
            lambda: updates.check(client, folder), self._show_update, lambda _exc: None, owner=self
        )

    def _show_update(self, update: updates.Update | None) -> None:
        self.offered_update = update
        if update is None:
            self.update_banner.hide()
            return
        self.update_banner.setText(
            f"Une nouvelle version de MonSisra ({update.version}) est disponible. "
            '<a href="download">Télécharger MonSisra</a>'
        )
        self.update_banner.show()

    def _open_download_page(self, _link: str = "") -> None:
        """The platform's « Télécharger MonSisra » page, in the system browser (public page:
        no login ticket needed)."""
        if self.offered_update is None:
            return
        try:
            self.open_url(self.offered_update.download_page)
        except (OpenFailed, OSError) as exc:
            self._error(exc)

    def reply(self, st: ItemState) -> None:
        self.open_page(f"/repondre/{st.id}")

    def open_record(self, st: ItemState) -> None:
        self.open_page(f"/patients/{st.item.patient.id}")

    def open_page(self, target: str) -> None:
        """A page of the Sisra services, opened in the browser already logged in."""
        self.connection_label.setText("Ouverture de la page dans votre navigateur…")

        def opened(url: str) -> None:
            try:
                self.open_url(url)
            except (OpenFailed, OSError) as exc:
                self._error(exc)
            self._status_changed(*self.session.status)

        run_task(lambda: self.session.web_url(target), opened, self._error, owner=self)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        st = self._state_at(index)
        if st is None:
            return
        menu = QMenu(self)
        menu.addAction("Ouvrir", lambda: self.open_document(st))
        menu.addAction("Répondre", lambda: self.reply(st))
        menu.addAction("Dossier du patient", lambda: self.open_record(st))
        menu.addSeparator()
        menu.addAction("Supprimer", lambda: self.confirm_delete(st))
        menu.popup(self.table.viewport().mapToGlobal(pos))
        self.context_menu = menu

    def _delete_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and (st := self._state_at(rows[0])) is not None:
            self.confirm_delete(st)

    def confirm_delete(self, st: ItemState) -> None:
        box = QMessageBox(self)
        box.setObjectName("confirm-delete")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Supprimer la notification")
        box.setText(f"Supprimer « {st.item.document.title} » de vos documents reçus ?")
        box.setInformativeText(
            "La notification disparaîtra de MonSisra, mais le document restera consultable "
            "dans le dossier régional du patient. Les fichiers déjà enregistrés pour votre "
            "logiciel ne sont pas effacés."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Supprimer")
        box.button(QMessageBox.StandardButton.Cancel).setText("Annuler")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self.delete(st)

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    def delete(self, st: ItemState) -> None:
        def done(_none: None) -> None:
            self.model.remove(st.id)
            self._counts()
            self.connection_label.setText(
                "Notification supprimée ; le document reste dans le dossier régional du patient."
            )

        run_task(lambda: self.session.delete(st), done, self._error, owner=self)

    # preview on hover ------------------------------------------------------------------------
    def _entered(self, index: QModelIndex) -> None:
        st = self._state_at(index)
        if st is None or index.column() != COL_TITLE:
            self._hide_preview()
            return
        rect = self.table.visualRect(index)
        at = self.table.viewport().mapToGlobal(rect.bottomLeft() + QPoint(24, 4))
        if self._hover and self._hover[0] == st.id:
            return
        self._hover = (st.id, at)
        self.popup.dismiss()
        self._hover_timer.start()

    def _show_preview(self) -> None:
        if self._hover is None:
            return
        key = self._hover[0]
        row = self.model.row_for(key)
        if row is None:
            return
        st = row.state
        cached = self.renderer.cached(key)
        if cached is not None:
            self.popup.show_image(key, cached, self._hover[1])
            return
        self.popup.show_text(key, "Aperçu en préparation…", self._hover[1])
        self.renderer.request(key, lambda: self.session.pdf_path(st))

    def preview(self, st: ItemState) -> None:
        """Show the preview of ``st`` as hovering its title does (keyboard users, tests)."""
        position = self.model.position(st.id)
        if position is None:
            return
        index = self.model.index(position, COL_TITLE)
        self._hover = None
        self._entered(index)
        self._hover_timer.stop()
        self._show_preview()

    def _preview_ready(self, key: str, image: QImage) -> None:
        if self._hover is not None and self._hover[0] == key:
            self.popup.show_image(key, image, self._hover[1])

    def _preview_failed(self, key: str, message: str) -> None:
        if self._hover is not None and self._hover[0] == key:
            self.popup.show_text(key, f"Aperçu indisponible : {message}", self._hover[1])

    def _hide_preview(self) -> None:
        self._hover = None
        self._hover_timer.stop()
        self.popup.dismiss()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Leave:
            self._hide_preview()
        elif watched is self.table and event.type() in (QEvent.Type.Move, QEvent.Type.Resize):
            self._hide_preview()  # a banner shown or hidden moves the rows under the popup
        elif (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            # whichever cell of the row is current (the view's own « activated » would leave
            # the title cell out: a click there opens already)
            st = self._state_at(self.table.currentIndex())
            if st is not None:
                self.open_document(st)
            return True
        return super().eventFilter(watched, event)

    # menu entries ----------------------------------------------------------------------
    def show_folder(self) -> None:
        from sisra.desktop.settings import FolderDialog

        self._show_dialog(FolderDialog(self.store, self.session, self))

    def show_settings(self) -> None:
        from sisra.desktop.settings import SettingsDialog

        self._show_dialog(SettingsDialog(self.store, self.session, self.alerts, self))

    def show_failures(self) -> None:
        from sisra.desktop.failures import FailuresDialog

        dialog = FailuresDialog(self.session, self)
        dialog.retried.connect(self.reload)
        self._show_dialog(dialog)

    def show_outbox(self) -> None:
        from sisra.desktop.outbox import OutboxDialog

        self._show_dialog(OutboxDialog(self.session, lambda p: self.open_file(p), self))

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setObjectName("about")
        box.setWindowTitle("À propos de MonSisra")
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.setText(f"<b>MonSisra {__version__}</b>")
        account = self.session.account.settings
        name, contact = operator(self.session.account.folder)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setInformativeText(
            "Récupère vos documents reçus et les dépose dans le répertoire de votre logiciel "
            "métier ; accès aux services Sisra.<br><br>"
            f"Utilisateur : {escape(account.display_name)} ({escape(account.login)})<br>"
            f"Plateforme : {escape(name + ' — ' if name else '')}{escape(account.server_url)}<br>"
            f"Python {sys.version.split()[0]}<br><br>" + help_line(contact)
        )
        self._show_dialog(box)

    def _show_dialog(self, dialog: QWidget) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def ask_reauth(self) -> None:
        """Strong authentication again (card or code) for this same computer."""
        from sisra.desktop.strongauth import StrongAuthDialog

        if self._reauth is not None and self._reauth.isVisible():
            self._reauth.raise_()
            self._reauth.activateWindow()
            return
        account = self.session.account.settings
        dialog = StrongAuthDialog(
            account.server_url,
            "Votre authentification forte doit être renouvelée pour continuer à recevoir vos "
            "documents. Utilisez votre carte CPS, e-CPS (Pro Santé Connect) ou le code reçu "
            "par e-mail.",
            login=account.login,
            device_id=self.session.device_id(),
            refresh_token=self.session.refresh_token(),
            parent=self,
        )

        def accepted() -> None:
            if dialog.credentials is not None:
                self.session.renew(dialog.credentials)
                self.connection_label.setText("Authentification renouvelée : la réception reprend.")

        dialog.accepted.connect(accepted)
        self._reauth = dialog
        dialog.destroyed.connect(lambda: setattr(self, "_reauth", None))
        self._show_dialog(dialog)

    def logout(self) -> None:
        self.logout_requested.emit()

    def _error(self, exc: Exception) -> None:
        if isinstance(exc, ApiError) and exc.state in (STRONG_AUTH, DISABLED, EXPIRED):
            self._status_changed(*describe(exc))
            return
        self.error_banner.setText(describe_error(exc))
        self.error_banner.show()
        QTimer.singleShot(15_000, self.error_banner.hide)
        self._status_changed(*self.session.status)

    # window ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing keeps MonSisra receiving in the background; « Quitter » really quits."""
        if self.quitting:
            self._hide_preview()
            event.accept()
            return
        event.ignore()
        if self.alerts.has_tray:
            self.hide()
            if not self.told_about_tray and self.alerts.tray is not None:
                self.alerts.tray.showMessage(
                    "MonSisra continue en arrière-plan",
                    "Vos documents continuent d'arriver. Pour quitter : menu « Quitter MonSisra ».",
                )
                self.told_about_tray = True
        else:
            self.showMinimized()


def _n(count: int, word: str) -> str:
    """« 1 document », « 3 documents », « 2 non lus »."""
    return f"{count} {word}{'s' if count > 1 else ''}"
