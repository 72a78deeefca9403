# A fast loopback SMTP sink for the delivery benchmark (needs `pip install aiosmtpd`).
#
# Usage: sink.py --port P --count-file F
# Accepts every message without parsing it and rewrites F with the number accepted so far
# every 50 ms. Stops when stdin closes.
import argparse
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 2.0.0 Ok: queued as B%08d" % self.accepted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", required=True)
    args = parser.parse_args()
    counter = Counter()
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
