"""The OpenAPI document as client generators and Swagger UI read it: the bearer scheme on
every operation that needs the token, and descriptions in Markdown (no RST literals)."""

import re

from fhir_helpers import fhir_validator

__all__ = ["fhir_validator"]  # the fixture, used by name


def test_openapi_declares_the_bearer_scheme_where_a_token_is_needed(app_client):
    schema = app_client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    paths = schema["paths"]
    for path, method in (
        ("/fhir/r4/Patient/{patient_id}", "get"),
        ("/fhir/r4/DocumentReference", "post"),
        ("/fhir/r4/Binary/{document_id}", "get"),
    ):
        assert paths[path][method]["security"] == [{"bearer": []}], path
    assert "security" not in paths["/fhir/r4/metadata"]["get"]  # read without a token
    # the page Swagger UI renders is the same document
    assert app_client.get("/docs/openapi.json").json()["components"]["securitySchemes"]


def test_descriptions_render_without_rst_literals(app_client):
    schema = app_client.get("/openapi.json").json()
    roles = re.compile(r"``|:(mod|func|class|meth):`")
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            text = operation.get("description", "")
            assert not roles.search(text), (path, method, text)


def test_the_npm_validator_checks_what_the_api_returns(app_client, fhir_validator):
    """The independent validator is wired: it refuses a wrong body and accepts ours."""
    bad = {"resourceType": "DocumentReference", "status": "bogus", "content": []}
    assert fhir_validator.validate(bad)
    body = app_client.get("/fhir/r4/metadata").json()
    assert fhir_validator.validate(body) == []
