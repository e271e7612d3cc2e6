"""Where the demo keeps its data and on which ports it serves, for the commands run beside it.

``sisra demo`` uses the data folder of the settings (``SISRA_DATA_DIR``, by default ``var`` in
the folder it is started from: ``make demo`` starts it at the repository's root). When it
starts, it writes ``demo.json`` in that folder (its ports) and, for this user, a pointer to that
folder (``~/.local/state/sisra/demo.json``). ``sisra dev mails`` and ``sisra dev make-card``
then look, in order: at ``SISRA_DATA_DIR`` when it is set (and nowhere else), at the folder of
the last demo started, and at ``var`` in the current folder — from any working directory.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from sisra.platform.settings import Settings

RECORD = "demo.json"


def pointer_file() -> Path:
    """This user's pointer to the last demo's data folder (XDG_STATE_HOME is followed)."""
    return Path(platformdirs.user_state_dir("sisra")) / RECORD


@dataclass(frozen=True)
class DemoPlace:
    data_dir: Path
    port: int
    smtp_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _write(path: Path, content: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def record(data_dir: Path, port: int, smtp_port: int) -> DemoPlace:
    """Called by ``sisra demo`` when it starts: its ports, and where it is, for this user."""
    place = DemoPlace(data_dir.resolve(), port, smtp_port)
    _write(place.data_dir / RECORD, {"port": port, "smtp_port": smtp_port})
    _write(pointer_file(), {"data_dir": str(place.data_dir)})
    return place


def recorded(data_dir: Path) -> DemoPlace | None:
    """The ports a demo recorded in ``data_dir`` (None: no demo started there)."""
    try:
        content = json.loads((data_dir / RECORD).read_text(encoding="utf-8"))
        return DemoPlace(data_dir.resolve(), int(content["port"]), int(content["smtp_port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def candidates(settings: Settings) -> list[Path]:
    """The folders where the demo's data may be, in the order they are tried."""
    if "data_dir" in settings.model_fields_set:  # SISRA_DATA_DIR: that one only
        return [settings.data_dir.resolve()]
    found: list[Path] = []
    try:
        pointed = json.loads(pointer_file().read_text(encoding="utf-8"))["data_dir"]
        found.append(Path(str(pointed)))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found.append(settings.data_dir.resolve())
    return list(dict.fromkeys(found))


def find_data_dir(settings: Settings) -> tuple[Path | None, list[Path]]:
    """The demo's data folder (the first candidate a demo has used), and every folder tried."""
    tried = candidates(settings)
    for folder in tried:
        if (folder / RECORD).exists() or (folder / "mails").is_dir():
            return folder, tried
    return None, tried
