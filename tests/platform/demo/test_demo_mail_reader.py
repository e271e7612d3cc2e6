"""The demo's captured codes: the sink writes them, the platform's page reads them back."""

import smtplib
from email.message import EmailMessage

from fastapi.testclient import TestClient

from sisra.devtools.ports import free_port
from sisra.devtools.smtp_sink import SmtpSink
from sisra.platform.app import create_app
from sisra.platform.demo.mails import read_mail_dir


def test_the_demo_page_lists_the_codes_the_sink_wrote(settings) -> None:
    folder = settings.data_dir / "mails"
    sink = SmtpSink(port=free_port(), directory=folder).start()
    try:
        mail = EmailMessage()
        mail["From"], mail["To"] = "sisra@demo.sisra.test", "lina.roche@demo.sisra.test"
        mail["Subject"] = "Votre code de connexion"
        mail.set_content("Votre code : 482913\n")
        with smtplib.SMTP(sink.host, sink.port) as smtp:
            smtp.send_message(mail)
    finally:
        sink.stop()
    (read,) = read_mail_dir(folder)
    assert read.to == ["lina.roche@demo.sisra.test"] and read.code() == "482913"

    app = create_app(settings.model_copy(update={"demo_mode": True}))
    with TestClient(app) as client:
        page = client.get("/demo/courriels")
    app.state.engine.dispose()
    assert page.status_code == 200
    assert "482913" in page.text and "lina.roche@demo.sisra.test" in page.text


def test_the_page_does_not_exist_outside_the_demo(app_client) -> None:
    assert app_client.get("/demo/courriels").status_code == 404
