"""Server-Sent Events against a real uvicorn server: live fan-out and Last-Event-ID resume."""

import json
import queue
import threading

import httpx

from conftest import share_request


def share(base, sender, patient_id, recipients, data, title="Résultats"):
    with httpx.Client(base_url=base, timeout=30) as client:
        r = share_request(client, sender, patient_id, recipients, data, title=title)
    assert r.status_code == 201, r.text
    return r.json()["document"]["id"]


class Listener:
    """Reads an SSE stream in a thread and queues (id, event, data) tuples."""

    def __init__(self, base, headers, last_event_id=None):
        self.events: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self._stop = False
        h = dict(headers)
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        self.thread = threading.Thread(target=self._run, args=(base, h), daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "stream did not open"

    def _run(self, base, headers):
        try:
            self._read(base, headers)
        except httpx.HTTPError:
            if not self._stop:
                raise

    def _read(self, base, headers):
        with (
            httpx.Client(timeout=httpx.Timeout(30, read=60)) as client,
            client.stream("GET", f"{base}/api/v1/events", headers=headers) as resp,
        ):
            self._resp = resp
            self.status = resp.status_code
            fields: dict[str, str] = {}
            for line in resp.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                if self._stop:
                    return
                if not line:
                    if "data" in fields:
                        self.events.put(
                            (int(fields["id"]), fields["event"], json.loads(fields["data"]))
                        )
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(": ")
                fields[key] = value

    def next(self, timeout=10):
        return self.events.get(timeout=timeout)

    def close(self):
        self._stop = True
        self._resp.close()
        self.thread.join(5)


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
