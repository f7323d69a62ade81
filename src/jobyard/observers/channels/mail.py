"""Mail by SMTP (smtplib): STARTTLS or TLS from the start, login when a user is set, the
job's log attached at finish. One connection per message: observers send few mails, and a
connection kept open would break silently between them."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from jobyard.observers.channels import ChannelError
from jobyard.observers.config import MailSettings
from jobyard.observers.render import Notification


class MailChannel:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def message(self, n: Notification) -> EmailMessage:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.sender
        msg["To"] = ", ".join(n.to)
        msg["Subject"] = n.subject
        msg["Date"] = formatdate(localtime=False)
        # One id per (observer, event): a mail client that sees a repeat can drop it.
        domain = s.sender.rpartition("@")[2] or "jobyard"
        msg["Message-ID"] = make_msgid(f"jobyard.{n.observer}.{n.event_id}", domain=domain)
        if n.html:
            msg.set_content("This notification is in HTML.")
            msg.add_alternative(n.body, subtype="html")
        else:
            msg.set_content(n.body)
        for filename, content in n.attachments:
            msg.add_attachment(content, maintype="text", subtype="plain", filename=filename)
        return msg

    def send(self, n: Notification) -> None:
        if not n.to:
            raise ChannelError("no recipients")
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file)
        try:
            smtp: smtplib.SMTP
            if s.ssl:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.starttls:
                    smtp.starttls(context=context)
                if s.user:
                    smtp.login(s.user, s.password or "")
                refused = smtp.send_message(self.message(n))
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(
                f"SMTP {s.host}:{s.port} refused the login: {exc.smtp_code}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise ChannelError(f"SMTP {s.host}:{s.port}: {exc.smtp_code} {text}") from None
        except (smtplib.SMTPException, OSError) as exc:  # timeouts and TLS errors too
            raise ChannelError(f"SMTP {s.host}:{s.port}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise ChannelError(f"SMTP {s.host}:{s.port} refused {', '.join(sorted(refused))}")
