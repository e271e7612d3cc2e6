"""An independent FHIR R4 validator for the tests: the npm package ``fhir`` (R4 core
structure definitions and value sets), run by ``fhir_validator/validate.mjs`` beside this
file as one long-lived Node.js process (a resource per line in, a verdict per line out).

Its dependencies are installed with ``npm ci`` from the committed lock file into a cache
folder (``.cache/fhir-validator``), as the test OpenID provider's are (:mod:`oidc_provider`).
"""

import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Self

from sisra.devtools import oidc_provider

SOURCE = Path(__file__).parent / "fhir_validator"
FILES = ("package.json", "package-lock.json", "validate.mjs")


def install(cache: Path | None = None) -> Path:
    """Copy the validator's files into ``cache`` and run ``npm ci`` when the lock changed."""
    cache = cache or oidc_provider.default_cache().parent / "fhir-validator"
    return oidc_provider.npm_install(SOURCE, FILES, cache)


class FhirValidator:
    """``validate(resource)`` returns the validator's errors (empty: valid)."""

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = install(cache)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node introuvable : installez Node.js 20 ou plus récent.")
        self._proc = subprocess.Popen(  # noqa: S603 — fixed arguments
            [node, "validate.mjs"],
            cwd=self.cache,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("le validateur FHIR n'a pas démarré")
        return self

    def validate(self, resource: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        with self._lock:
            self._proc.stdin.write(json.dumps(resource, ensure_ascii=False) + "\n")
            self._proc.stdin.flush()
            answer = json.loads(self._proc.stdout.readline())
        return list(answer["errors"])

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
