/// The loopback SMTP server the Mail and Delivery tests run (Python, `pip install aiosmtpd`); Tests/DeliveryTests/Fixtures links here.
///
/// It is embedded as a string (and written to a temporary file by `SMTPFixture`) so the test
/// target has no non-Swift files to declare in Package.swift.
let smtpFixtureScript = #"""
# Loopback SMTP server for the Mail tests (needs `pip install aiosmtpd`).
#
# Usage: smtp_server.py --port P --out DIR [--mode sink|fail-first|reject|reject-unknown|reject-first-sender|slow] [--pipelining]
# slow: records each message, then holds its 250 reply for a second (the window in which a
# sender can die after the provider has the mail but before it learns so).
#                       [--starttls CERT KEY] [--implicit-tls CERT KEY] [--auth USER:PASSWORD]
#
# Every accepted message is written to DIR/NNNN.json: the envelope, the raw data and the message
# parsed back with Python's `email` package (decoded subject, addresses, text and HTML parts).
# Modes: sink accepts everything; fail-first answers the first DATA with 451, then accepts;
# reject answers every RCPT with 550. The server stops when its stdin closes.
import argparse
import asyncio
import email
import json
import os
import signal
import ssl
import sys
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def addresses(header):
    if header is None:
        return []
    return [{"name": a.display_name, "address": a.addr_spec} for a in header.addresses]


class Handler:
    def __init__(self, out, mode, pipelining=False):
        self.out = out
        self.mode = mode
        self.pipelining = pipelining
        self.data_calls = 0
        self.accepted = 0
        self.mail_commands = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads one command line at a time, so pipelined commands simply queue up.
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        if self.mode == "reject-first-sender" and self.mail_commands == 1:
            return "451 4.7.1 Sender temporarily refused"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject" or (self.mode == "reject-unknown" and address.startswith("unknown@")):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.mode == "fail-first" and self.data_calls == 1:
            return "451 4.3.0 Temporary local problem, try again"
        self.accepted += 1
        number = self.accepted
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "peer_port": session.peer[1],
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "subject": str(message["subject"]),
            "from": addresses(message["from"]),
            "reply_to": addresses(message["reply-to"]),
            "to": addresses(message["to"]),
            "cc": addresses(message["cc"]),
            "has_bcc_header": "bcc" in message,
            "message_id": str(message["message-id"]),
            "date": str(message["date"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "headers": {name: str(value) for name, value in message.items()},
            "defects": [type(d).__name__ for d in message.defects],
            "max_line_length": max(len(line) for line in raw.split(b"\r\n")),
            "raw": raw.decode("ascii", "replace"),
        }
        path = os.path.join(self.out, "%04d.json" % number)
        with open(path + ".tmp", "w") as file:
            json.dump(record, file)
        os.rename(path + ".tmp", path)
        if self.mode == "slow":
            await asyncio.sleep(1)
        return "250 2.0.0 Ok: queued as FIX%04d" % number


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", default="sink", choices=["sink", "fail-first", "reject", "reject-unknown", "reject-first-sender", "slow"])
    parser.add_argument("--pipelining", action="store_true", help="announce PIPELINING (RFC 2920)")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    args = parser.parse_args()

    kwargs = {"auth_require_tls": False}
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.starttls)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.implicit_tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.implicit_tls)
        kwargs["ssl_context"] = context
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True)

    os.makedirs(args.out, exist_ok=True)
    controller = Controller(Handler(args.out, args.mode, args.pipelining), hostname="127.0.0.1", port=args.port, **kwargs)
    controller.start()
    # The test process may spawn us with signals blocked; make SIGTERM work again.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    print("ready", flush=True)
    sys.stdin.read()  # run until the test closes our stdin (or dies), or SIGTERM
    os._exit(0)


if __name__ == "__main__":
    main()
"""#
