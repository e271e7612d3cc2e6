"""FHIR codes inside the national value sets (decisions 137, 138): DocumentReference.type in
JDV_J07 with its label, category on the code system the ANS publishes (TRE_A03), FR Core
2.2.0 claimed, an MSSanté address marked with FR Core's e-mail type."""

from fhir_helpers import fhir_get, validate

from sisra.common import doctypes, valuesets
from sisra.platform.models import Professional
from support.documents import share_request

TRE_A03 = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"


def test_document_reference_codes_are_in_the_value_sets(app_client, make_pro, make_patient, pdf):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    for dtype in doctypes.DOCUMENT_TYPES:
        r = share_request(
            app_client, author, patient, [recipient], pdf(dtype.label), type_code=dtype.code
        )
        assert r.status_code == 201, r.text
        doc_id = r.json()["document"]["id"]
        doc = validate(fhir_get(app_client, f"DocumentReference/{doc_id}", author.headers).json())
        [coding] = doc["type"]["coding"]
        concept = valuesets.value_set(valuesets.J07).get(coding["code"])
        assert coding["system"] == "http://loinc.org"
        assert concept is not None and concept.label == coding["display"], coding
        assert doc["type"]["text"] == dtype.label
        [klass] = doc["category"][0]["coding"]
        assert klass["system"] == TRE_A03
        found = valuesets.value_set(valuesets.J06).get(klass["code"])
        assert found is not None and found.label == klass["display"]
        # a search by the J07 code finds it
        bundle = fhir_get(
            app_client,
            "DocumentReference",
            author.headers,
            patient=f"Patient/{patient}",
            type=f"http://loinc.org|{coding['code']}",
        ).json()
        assert doc_id in {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_fr_core_version_and_mssante_address(app_client, make_pro, db):
    pro, other = make_pro(), make_pro()
    with db() as s:
        s.get(Professional, other.id).mssante = "hugo.rey@medecin.mssante.fr"
    cap = fhir_get(app_client, "metadata", {}).json()
    assert cap["implementationGuide"] == [
        "https://hl7.fr/ig/fhir/core/ImplementationGuide/hl7.fhir.fr.core|2.2.0"
    ]
    doc = validate(fhir_get(app_client, f"Practitioner/{other.id}", pro.headers).json())
    [telecom] = doc["telecom"]
    assert telecom["system"] == "email" and telecom["value"] == "hugo.rey@medecin.mssante.fr"
    [ext] = telecom["extension"]
    assert ext["url"] == (
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type"
    )
    assert ext["valueCoding"]["system"] == (
        "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie"
    )
    assert ext["valueCoding"]["code"] == "MSSANTE"
