#!/bin/bash
# Container health probe: GET /healthz on the local service, healthy on "HTTP/1.x 200".
# The slim runtime image has no curl; bash's /dev/tcp is enough for one request.
# usage: healthcheck [PORT]   (default: $PORT, else 8081)
port=${1:-${PORT:-8081}}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
case $status in
    "HTTP/1."?" 200 "*) exit 0 ;;
    *) exit 1 ;;
esac
