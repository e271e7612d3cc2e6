"""The platform's event stream (SSE) read as a client reads it."""

import json
import queue
import threading

import httpx

from support.documents import share_request


class Listener:
    """Reads an SSE stream in a thread and queues (id, event, data) tuples."""

    def __init__(self, base, headers, last_event_id=None, query=""):
        self._query = query
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
            client.stream("GET", f"{base}/api/v1/events{self._query}", headers=headers) as resp,
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


def share(base, sender, patient_id, recipients, data, title="Résultats"):
    with httpx.Client(base_url=base, timeout=30) as client:
        r = share_request(client, sender, patient_id, recipients, data, title=title)
    assert r.status_code == 201, r.text
    return r.json()["document"]["id"]
