"""« Documents non enregistrés »: what could not be written to the folder, why, and
« Réessayer »."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sisra.desktop.model import patient_name
from sisra.desktop.session import AccountSession


class FailuresDialog(QDialog):
    retried = Signal(int)

    def __init__(self, session: AccountSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("failures-dialog")
        self.setWindowTitle("Documents non enregistrés")
        self.resize(820, 360)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Libellé", "Patient", "Raison", "Essais"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 170)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.retry_button = QPushButton("Réessayer")
        self.retry_button.setObjectName("retry")
        self.retry_button.clicked.connect(self.retry)
        close = QPushButton("Fermer")
        close.clicked.connect(self.accept)
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        failures = self.session.failures()
        self.table.setRowCount(len(failures))
        for i, st in enumerate(failures):
            cells = (
                st.item.document.title,
                patient_name(st.item.patient),
                st.error_message or st.error_code or "",
                str(st.attempts),
            )
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.retry_button.setEnabled(bool(failures))
        self.summary.setText(
            "Aucun document en échec : tout a été enregistré."
            if not failures
            else "Ces documents n'ont pas pu être enregistrés dans votre répertoire. MonSisra "
            "réessaie automatiquement ; corrigez la cause (répertoire, disque plein…) puis "
            "cliquez sur « Réessayer »."
        )

    def retry(self) -> None:
        count = self.session.retry_failures()
        self.summary.setText(
            f"{count} document(s) vont être réessayés maintenant. Le tableau des documents reçus "
            "indiquera le résultat."
        )
        self.retry_button.setEnabled(False)
        self.retried.emit(count)
