"""Server-Sent Events against a real uvicorn server: live fan-out and Last-Event-ID resume."""

import httpx

from support.events import Listener, share


def test_a_share_reaches_every_recipients_stream_and_nobody_elses(
    live_server, make_pro, make_patient, pdf
):
    author, r1, r2, other = make_pro(), make_pro(), make_pro(), make_pro()
    patient = make_patient()
    listeners = {p.login: Listener(live_server.url, p.headers) for p in (r1, r2, other, author)}
    doc = share(live_server.url, author, patient, [r1, r2], pdf())
    for who in (r1, r2):
        cursor, kind, data = listeners[who.login].next()
        assert kind == "notification"
        assert data["document"]["id"] == doc and data["cursor"] == cursor
        assert data["patient"]["id"] == str(patient)
    for who in (other, author):
        assert listeners[who.login].events.empty()
    # a second share: the outsider still hears nothing
    share(live_server.url, author, patient, [r1], pdf("deux"))
    assert listeners[r1.login].next()[2]["document"]["title"] == "Résultats"
    assert listeners[other.login].events.empty()
    for lst in listeners.values():
        lst.close()


def test_resume_from_last_event_id_replays_what_was_missed(
    live_server, make_pro, make_patient, pdf
):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    docs = [share(live_server.url, author, patient, [rec], pdf(f"n{i}")) for i in range(3)]
    first = Listener(live_server.url, rec.headers)
    seen = [first.next() for _ in range(3)]
    assert [e[2]["document"]["id"] for e in seen] == docs
    first.close()
    # two documents arrive while disconnected
    later = [share(live_server.url, author, patient, [rec], pdf(f"m{i}")) for i in range(2)]
    resumed = Listener(live_server.url, rec.headers, last_event_id=seen[0][0])
    replay = [resumed.next() for _ in range(4)]
    assert [e[2]["document"]["id"] for e in replay] == docs[1:] + later
    cursors = [e[0] for e in replay]
    assert cursors == sorted(cursors)
    # and then it is live
    live = share(live_server.url, author, patient, [rec], pdf("live"))
    assert resumed.next()[2]["document"]["id"] == live
    resumed.close()


def test_events_need_a_valid_token(live_server):
    r = httpx.get(f"{live_server.url}/api/v1/events", timeout=5)
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
