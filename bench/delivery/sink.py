# A fast loopback SMTP sink for the delivery benchmark (needs `pip install aiosmtpd`).
#
# Usage: sink.py --port P --count-file F [--delay-ms D] [--sample-file S] [--pipelining]
# Accepts every message without parsing it and rewrites F with the number accepted so far
# every 50 ms. With --delay-ms, answers each message's final 250 only after D ms (sessions wait
# independently): a provider that takes that long to accept a message, so throughput is bound
# by latency (sessions / D) rather than by this process's CPU. With --sample-file, the first
# message received is written to S (as sent on the wire, dot-stuffed, without the final dot
# line), and again after S is removed, so the ceiling can be measured with the very message
# delivery sends. With --pipelining the EHLO reply offers PIPELINING, as providers' relays do.
# Stops when stdin closes.
import argparse
import asyncio
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self, delay, sample_file, pipelining=False):
        self.accepted = 0
        self.delay = delay
        self.sample_file = sample_file
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands one line at a time from a buffered stream, so it serves a
        # pipelined group (RFC 2920) correctly; it only never offers the extension.
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.sample_file and not os.path.exists(self.sample_file):
            lines = envelope.original_content.split(b"\r\n")
            stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
            if not stuffed.endswith(b"\r\n"):
                stuffed += b"\r\n"
            with open(self.sample_file + ".tmp", "wb") as f:
                f.write(stuffed)
            os.replace(self.sample_file + ".tmp", self.sample_file)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.accepted += 1
        return "250 2.0.0 Ok: queued as B%08d" % self.accepted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", required=True)
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--sample-file")
    parser.add_argument("--pipelining", action="store_true", help="offer PIPELINING (RFC 2920) in the EHLO reply")
    args = parser.parse_args()
    counter = Counter(args.delay_ms / 1000, args.sample_file, args.pipelining)
    controller = Controller(counter, hostname="127.0.0.1", port=args.port)
    controller.start()

    def publish():
        while True:
            tmp = args.count_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(counter.accepted))
            os.replace(tmp, args.count_file)
            time.sleep(0.05)

    threading.Thread(target=publish, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
