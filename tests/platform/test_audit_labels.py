"""Every audit action and every detail key the sources write has a French label, and the
details are shown in French with names, never raw keys, codes or ids where a name exists."""

import ast
import uuid
from pathlib import Path
from typing import Any

from sisra.platform.audit import labels

SRC = Path(__file__).resolve().parents[2] / "src" / "sisra"

# Calls whose ``details`` come from a function parameter or a method's answer: the keys their
# callers put in (read from the code); a new call of this kind fails the test until added here.
INDIRECT: dict[tuple[str, str], set[str]] = {
    ("platform/patients/service.py", "details"): {"criteria", "by", "reason"},
    ("platform/auth/cps.py", "details"): {"challenge", "serial", "subject", "reason"},
    ("platform/auth/psc.py", "details"): {"flow", "acr", "national_id", "provider_error"},
    ("platform/auth/otp.py", "known"): {"known_device"},
    ("platform/web/admin/care_team.py", "filters"): {
        "how",
        "include_ended",
        "professional_id",
        "patient_id",
    },
    ("platform/web/admin/audit.py", "f.as_details()"): {
        "actor",
        "action",
        "from",
        "to",
        "patients",
    },
    ("platform/mssante/service.py", "details"): {
        "sender",
        "recipients",
        "message_id",
        "sha256",
        "matched_by",
        "size",
    },
    ("platform/mssante/receipts.py", "details"): {"disposition", "reason"},
    # filing.file(details=…): a share's, a received mail's, a resolution's
    ("platform/documents/filing.py", "details"): {
        "recipients",
        "sha256",
        "size",
        "in_reply_to",
        "mssante",
        "sender",
        "message_id",
        "matched_by",
        "pending",
        "how",
    },
}


def _is_record(call: ast.Call) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "record"
        and isinstance(f.value, ast.Name)
        and f.value.id in ("audit", "service", "audit_service")
    )


def _literal_keys(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant)}
    return set()


def _dict_names(fn: ast.AST) -> dict[str, set[str]]:
    """Keys put into each local dict of a function: literals, ``d[k] = …``, ``d |= {…}``."""
    names: dict[str, set[str]] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            for t in targets:
                if isinstance(t, ast.Name) and n.value is not None:
                    names.setdefault(t.id, set()).update(_literal_keys(n.value))
                if (
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and isinstance(t.slice, ast.Constant)
                ):
                    names.setdefault(t.value.id, set()).add(t.slice.value)
    return names


def _audit_calls() -> tuple[dict[str, set[str]], set[str], list[tuple[str, str]]]:
    """(keys by action, every key, the indirect call sites) of the ``audit.record`` calls."""
    by_action: dict[str, set[str]] = {}
    keys: set[str] = set()
    indirect: list[tuple[str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = _dict_names(fn)
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and _is_record(call)):
                    continue
                action = next(
                    (
                        a.value
                        for a in call.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    ),
                    "",
                )
                found: set[str] = set()

                def walk(
                    v: ast.expr, rel: str = rel, names: Any = names, found: Any = found
                ) -> None:
                    if isinstance(v, ast.Dict):
                        for k, val in zip(v.keys, v.values, strict=True):
                            if k is None:
                                walk(val)
                            elif isinstance(k, ast.Constant):
                                found.add(k.value)
                    elif isinstance(v, ast.Name) and names.get(v.id):
                        found.update(names[v.id])
                        if (rel, v.id) in INDIRECT:
                            indirect.append((rel, v.id))
                            found.update(INDIRECT[(rel, v.id)])
                    elif isinstance(v, ast.BinOp):
                        walk(v.left)
                        walk(v.right)
                    elif isinstance(v, ast.DictComp) and isinstance(v.generators[0].iter, ast.Call):
                        owner = ast.unparse(v.generators[0].iter.func).split(".")[0]
                        indirect.append((rel, owner))
                        found.update(INDIRECT.get((rel, owner), {f"<{owner}?>"}))
                    else:
                        text = ast.unparse(v)
                        indirect.append((rel, text))
                        found.update(INDIRECT.get((rel, text), {f"<{text}?>"}))

                for kw in call.keywords:
                    if kw.arg == "details":
                        walk(kw.value)
                if action:
                    by_action.setdefault(action, set()).update(found)
                keys |= found
    return by_action, keys, indirect


def test_the_walk_finds_the_audit_calls() -> None:
    by_action, keys, indirect = _audit_calls()
    assert len(by_action) > 40
    assert {"reason", "member_id", "unread_only"} <= keys
    assert set(indirect) <= set(INDIRECT), sorted(set(indirect) - set(INDIRECT))


def test_every_audited_action_and_detail_key_has_a_french_label() -> None:
    by_action, keys, _indirect = _audit_calls()
    missing_actions = sorted(a for a in by_action if "." in a and a not in labels.ACTIONS)
    assert not missing_actions, missing_actions
    shown = {k for k in keys if k not in labels.HIDDEN}
    missing = sorted(k for k in shown if k not in labels.DETAILS)
    assert not missing, missing
    for action, action_keys in by_action.items():
        unlabelled = sorted(k for k in action_keys - labels.HIDDEN if k not in labels.DETAILS)
        assert not unlabelled, (action, unlabelled)


def test_details_are_french_with_names() -> None:
    pro_id, patient_id = str(uuid.uuid4()), str(uuid.uuid4())
    raw = {
        "member_id": str(uuid.uuid4()),
        "professional_id": pro_id,
        "unread_only": True,
        "include_ended": "True",
        "grounds": "break_glass",
        "how": "declared",
        "kept": patient_id,
        "reason": "bad_credentials",
    }
    names = {pro_id: "Zoé HARDY", patient_id: "DURAND Lucie, né(e) le 01/02/1960"}
    shown = dict(labels.details(raw, names))
    assert shown == {
        "Motif": "identifiant ou mot de passe incorrect",
        "Fondement": "accès en urgence (bris de glace)",
        "Comment": "déclarée par le professionnel",
        "Professionnel": "Zoé HARDY",
        "Non lus seulement": "oui",
        "Appartenances terminées comprises": "oui",
        "Identité conservée": "DURAND Lucie, né(e) le 01/02/1960",
    }
    assert labels.ids_named([raw]) == ({pro_id}, {patient_id})
    assert labels.outcome_label("emergency") == "accès en urgence"
