"""E-mail through Amazon SES (boto3); AWS settings come from boto3's own variables."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.notify.channels.base import DeliveryError, Sent

# SES answers these when the message or the recipient is at fault: retrying cannot help.
_PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "InvalidParameterValue"}


class SesEmail:
    """Send e-mail with SES `SendEmail`, plain-text and HTML bodies."""

    name = "ses"

    def __init__(self, client: Any, from_address: str) -> None:
        self.client = client
        self.from_address = from_address

    def send_email(self, *, to: str, subject: str, text: str, html: str) -> Sent:
        """Send one e-mail; return SES's message id."""
        try:
            answer = self.client.send_email(
                Source=self.from_address,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": text, "Charset": "UTF-8"},
                        "Html": {"Data": html, "Charset": "UTF-8"},
                    },
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise DeliveryError(
                f"SES {code}: {exc.response.get('Error', {}).get('Message', '')}",
                provider=self.name,
                permanent=code in _PERMANENT,
            ) from exc
        except BotoCoreError as exc:
            raise DeliveryError(f"SES: {exc}", provider=self.name, permanent=False) from exc
        return Sent(provider=self.name, provider_id=answer.get("MessageId"))
