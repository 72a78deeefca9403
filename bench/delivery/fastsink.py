# A minimal loopback SMTP sink for the delivery benchmark: plain asyncio, no aiosmtpd, no
# parsing beyond what the protocol needs (EHLO/HELO, MAIL, RCPT, DATA up to the lone dot,
# RSET, NOOP, QUIT), so it costs a fraction of aiosmtpd's CPU per message. Not a mail
# server: it checks nothing and keeps nothing.
#
# Usage: fastsink.py --port P --count-file F [--processes N]
# Rewrites F with the number of messages accepted so far every 50 ms (summed over the
# processes, which share the listening socket). Stops when stdin closes.
import argparse
import asyncio
import os
import socket
import sys
import threading
import time
from multiprocessing import Process, Value

EHLO = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n"


def serve(sock, counter):
    async def session(reader, writer):
        accepted = 0
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await reader.readuntil(b"\r\n.\r\n")
                    accepted += 1
                    with counter.get_lock():
                        counter.value += 1
                    writer.write(b"250 2.0.0 Ok: queued as S%d\r\n" % accepted)
                elif verb == b"EHLO":
                    writer.write(EHLO)
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP", b"HELO"):
                    writer.write(b"250 ok\r\n")
                else:
                    writer.write(b"502 not implemented\r\n")
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(session, sock=sock, limit=1 << 20)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", required=True)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(256)
    counter = Value("q", 0)
    workers = [Process(target=serve, args=(sock, counter), daemon=True) for _ in range(args.processes)]
    for w in workers:
        w.start()

    def publish():
        while True:
            tmp = args.count_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(counter.value))
            os.replace(tmp, args.count_file)
            time.sleep(0.05)

    threading.Thread(target=publish, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    for w in workers:
        w.terminate()
    os._exit(0)


if __name__ == "__main__":
    main()
