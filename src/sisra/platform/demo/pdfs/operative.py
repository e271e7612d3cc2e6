"""Operative reports (« compte rendu opératoire »)."""

from __future__ import annotations

from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import _COLLEAGUES, _NURSES
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _bullets, _fr, _h, _p, _table

_OP_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = load("op_steps")


def _body_operatoire(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    steps = next((s for k, s in _OP_STEPS if k in t), _OP_STEPS[0][1])
    start = rng.randint(8, 15)
    duration = rng.randint(35, 130)
    end_min = start * 60 + rng.randint(0, 30) + duration
    return [
        _table(
            [
                ["Date de l'intervention", _fr(ctx.day), "Durée", f"{duration} minutes"],
                ["Opérateur", ctx.author_name, "Aide", rng.choice(_COLLEAGUES)],
                ["Anesthésiste", rng.choice(_COLLEAGUES), "IBODE", rng.choice(_NURSES)],
                [
                    "Anesthésie",
                    rng.choice(["Générale", "Rachianesthésie", "Bloc plexique échoguidé"]),
                    "Fin",
                    f"{end_min // 60:02d}h{end_min % 60:02d}",
                ],
            ],
            [3.6 * cm, 5.2 * cm, 2.0 * cm, 6.2 * cm],
            header=False,
            bold=[(0, r) for r in range(4)] + [(2, r) for r in range(4)],
        ),
        _h("Indication"),
        _p(
            ctx.fill("{P}, âgé{e} de {age}, présente ")
            + ctx.one(
                (
                    "une pathologie symptomatique résistante au traitement médical bien conduit.",
                    "une lésion traumatique nécessitant une prise en charge chirurgicale.",
                    "une gêne fonctionnelle importante retentissant sur la vie quotidienne.",
                )
            )
            + " L'information sur le bénéfice attendu et les risques a été délivrée ; "
            "le consentement éclairé a été recueilli."
        ),
        _h("Installation"),
        _p(
            rng.choice(
                (
                    "Décubitus latéral, appuis pubien et sacré. Antibioprophylaxie par céfazoline 2 g "
                    "à l'induction. Check-list HAS réalisée.",
                    "Décubitus dorsal, garrot à la racine du membre. Antibioprophylaxie selon le "
                    "protocole du service. Check-list HAS réalisée.",
                )
            )
        ),
        _h("Description de l'intervention"),
        *[_p(f"{i}. {s}") for i, s in enumerate(steps, 1)],
        _h("Incidents peropératoires"),
        _p(
            rng.choice(
                (
                    "Aucun incident.",
                    "Aucun incident. Saignement estimé à 200 mL.",
                    "Saignement modéré contrôlé par l'hémostase, sans transfusion.",
                )
            )
        ),
        _h("Suites immédiates"),
        *_bullets(
            rng.sample(
                [
                    "Appui complet autorisé d'emblée, selon la douleur.",
                    "Anticoagulation préventive par énoxaparine 4000 UI/jour pendant 35 jours.",
                    "Radiographie de contrôle en salle de réveil satisfaisante.",
                    "Glaçage et surélévation du membre. Antalgiques de palier 1 et 2.",
                    "Ablation des fils ou agrafes à J14 par l'infirmier(ère) à domicile.",
                    "Consultation de contrôle à six semaines avec radiographie.",
                ],
                4,
            )
        ),
    ]
