"""A small X desktop for tests and screenshots: a virtual screen (Xvfb) and a system tray
(trayer, a freedesktop XEmbed tray), each a real program from the system's packages.

MonSisra's tray icon and its notification balloons need a tray to exist: on a CI machine
there is no desktop session, so one is started here. Used by the real-tray test
(tests/desktop/test_real_tray.py) and by scripts/desktop_screenshots.py.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import tempfile
import time


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None


def tray_available() -> bool:
    return shutil.which("trayer") is not None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed")
    return path


def start_xvfb(size: str = "1600x1000x24") -> tuple[subprocess.Popen[bytes], str]:
    """Our own X server; it picks a free display number and tells it (-displayfd)."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(  # noqa: S603 (fixed tool, arguments passed as a list)
        [_tool("Xvfb"), "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        number = pipe.readline().strip().decode()
    if not number.isdigit():
        stop(xvfb)
        raise RuntimeError("Xvfb did not start")
    return xvfb, f":{number}"


def start_tray(display: str, attempts: int = 2) -> subprocess.Popen[bytes]:
    """A system tray docked at the top right of ``display``; returns once it owns the tray
    selection, so that an application started next finds a tray. Started again once if it
    exits or does not take the selection in time (it did not, once, on a loaded CI machine);
    the error says which, with what trayer wrote."""
    failures: list[str] = []
    for _ in range(attempts):
        with tempfile.TemporaryFile() as errors:
            tray = subprocess.Popen(  # noqa: S603 (fixed tool, arguments passed as a list)
                [
                    _tool("trayer"),
                    *("--edge", "top", "--align", "right", "--widthtype", "request"),
                    *("--height", "32", "--transparent", "false", "--tint", "0x303030"),
                    *("--SetDockType", "true"),
                ],
                env={**os.environ, "DISPLAY": display},
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
            deadline = time.monotonic() + 30
            while not _tray_selection_owned(display):
                if tray.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            else:
                return tray
            code = tray.poll()
            stop(tray)
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip()[-500:]
            why = f"exited with {code}" if code is not None else "no tray selection after 30 s"
            failures.append(f"{why}{': ' + said if said else ''}")
    raise RuntimeError(f"the system tray (trayer) did not start on {display}: {failures}")


def _tray_selection_owned(display: str) -> bool:
    """Whether a program owns the tray selection (_NET_SYSTEM_TRAY_S0) on ``display``: what
    Qt checks before it shows a tray icon. Asked through libX11 (ctypes, no extra tool)."""
    xlib = ctypes.util.find_library("X11")
    if xlib is None:
        raise RuntimeError("libX11 is missing")
    x11 = ctypes.CDLL(xlib)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        return False
    try:
        atom = x11.XInternAtom(handle, b"_NET_SYSTEM_TRAY_S0", 0)
        return bool(x11.XGetSelectionOwner(handle, atom))
    finally:
        x11.XCloseDisplay(handle)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started; killed when it takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
