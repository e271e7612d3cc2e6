"""A private CUPS print server on a loopback port, with the ``monsisra`` backend installed.

Its own configuration, spool, cache, state and log folders under a temporary folder; the
system's filters, PPDs and MIME types (the Debian ``cups`` and ``cups-filters`` packages). The
backend is a two-line script calling :mod:`sisra.client.printing.cups_backend` with this
virtualenv's Python, 0700 and owned by root like the package's (so CUPS starts it as root).
``MONSISRA_HOME`` reaches the backend through ``SetEnv``: jobs land in the test's accounts.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sisra.devtools.children import die_with_parent, end
from sisra.devtools.ports import free_port

CUPSD = "/usr/sbin/cupsd"
PPD = Path(__file__).resolve().parents[2] / "packaging/linux/monsisra.ppd"
QUEUE = "MonSisra"

BACKEND_SCRIPT = """#!{python}
import sys
from sisra.client.printing.cups_backend import main
sys.exit(main())
"""


class PrivateCups:
    def __init__(self, base: Path, monsisra_home: Path) -> None:
        self.base, self.port = base, free_port()
        self.server = f"127.0.0.1:{self.port}"
        conf = base / "conf"
        for sub in ("conf", "spool/tmp", "cache", "state", "log", "serverbin/backend"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        # the filters run as lp: they reach their programs and the spooled files
        for folder in (base, conf, base / "serverbin", base / "serverbin/backend"):
            folder.chmod(0o755)
        lp_gid = grp.getgrnam("lp").gr_gid
        for folder in (base / "spool", base / "spool/tmp", base / "cache", base / "state"):
            os.chown(folder, 0, lp_gid)
            folder.chmod(0o770)
        bin_dir = base / "serverbin"
        for name in ("filter", "cgi-bin", "daemon", "notifier", "monitor", "driver"):
            source = Path("/usr/lib/cups") / name
            if source.exists():
                (bin_dir / name).symlink_to(source)
        backend = bin_dir / "backend" / "monsisra"
        backend.write_text(BACKEND_SCRIPT.format(python=sys.executable), encoding="utf-8")
        backend.chmod(0o700)
        (conf / "cupsd.conf").write_text(
            f"Listen 127.0.0.1:{self.port}\n"
            "LogLevel debug\nBrowsing No\nWebInterface No\nDefaultAuthType None\n"
            "DirtyCleanInterval 0\n"
            "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
            "<Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n"
            "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n",
            encoding="utf-8",
        )
        (conf / "cups-files.conf").write_text(
            f"ServerRoot {conf}\nRequestRoot {base / 'spool'}\nTempDir {base / 'spool/tmp'}\n"
            f"CacheDir {base / 'cache'}\nStateDir {base / 'state'}\nServerBin {bin_dir}\n"
            f"DataDir /usr/share/cups\nErrorLog {base / 'log/error_log'}\n"
            f"AccessLog {base / 'log/access_log'}\nPageLog {base / 'log/page_log'}\n"
            "FileDevice No\n"
            f"SetEnv MONSISRA_HOME {monsisra_home}\n"
            f"SetEnv PYTHONPATH {os.pathsep.join(p for p in sys.path if os.path.isabs(p))}\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            [CUPSD, "-f", "-c", str(conf / "cupsd.conf"), "-s", str(conf / "cups-files.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while "is running" not in self.run("lpstat", "-r").stdout:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"cupsd did not start:\n{self.log()}")
            time.sleep(0.1)

    def run(self, *command: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """A CUPS client command against this server."""
        env = {**os.environ, "CUPS_SERVER": self.server}
        done = subprocess.run(
            [
                shutil.which(command[0], path="/usr/sbin:/usr/bin:/sbin:/bin") or command[0],
                *command[1:],
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{command}: {done.stdout}{done.stderr}\n{self.log()[-3000:]}")
        return done

    def add_queue(self) -> None:
        """The queue as the package's postinst creates it."""
        self.run(
            "lpadmin",
            "-p",
            QUEUE,
            "-E",
            "-v",
            "monsisra:/",
            "-P",
            str(PPD),
            "-o",
            "printer-error-policy=abort-job",
            "-o",
            "printer-is-shared=false",
            check=True,
        )

    def log(self) -> str:
        path = self.base / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        end(self.proc)
