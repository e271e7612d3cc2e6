"""MSSanté addresses in the directory: local mailboxes and correspondents of other operators."""

import pytest

from sisra.platform.directory import correspondents, service
from sisra.platform.errors import Invalid


def test_an_unknown_address_becomes_one_external_correspondent(db, make_pro):
    with db() as session:
        first = correspondents.correspondent_for(session, " Dr.Martin@CHU-Lyon.mssante.fr ")
        again = correspondents.correspondent_for(session, "dr.martin@chu-lyon.mssante.fr")
        assert first.id == again.id
        assert first.external and first.mssante == "dr.martin@chu-lyon.mssante.fr"
        assert first.password_hash is None
        # findable in the directory by its address, never a local mailbox
        assert first in service.search(session, "chu-lyon")
        assert correspondents.local_by_address(session, "dr.martin@chu-lyon.mssante.fr") is None


def test_a_local_professional_is_found_whatever_the_case(db, make_pro):
    pro = make_pro()
    with db() as session:
        row = service.get(session, pro.id)
        row.mssante = "Jeanne.Durand@medecin.mssante.fr"
        session.flush()
        found = correspondents.local_by_address(session, "jeanne.durand@MEDECIN.mssante.fr")
        assert found is not None and found.id == pro.id
        # never doubled by an external row
        assert (
            correspondents.correspondent_for(session, "jeanne.durand@medecin.mssante.fr").id
            == pro.id
        )


@pytest.mark.parametrize("bad", ["", "pas-une-adresse", "a@b", "x@y.fr\r\nBcc: z@w.fr", "é@x.fr"])
def test_malformed_addresses_are_refused(bad):
    with pytest.raises(Invalid) as err:
        correspondents.normalise_address(bad)
    assert err.value.code == "invalid_mssante_address"
