#!/usr/bin/python3
"""A passive raw HTTP/2 peer: starts one aborted gRPC call and never closes its side.

Run it with Debian's interpreter, which has python3-h2:

    /usr/bin/python3 passive_h2_client.py --target 127.0.0.1:PORT [--timeout-s 10]

It opens a cleartext (prior-knowledge h2c) connection, sends one request HEADERS for
``--method`` with the gRPC headers and ``x-demo-abort: <--abort>`` and without END_STREAM, and
then sends nothing for that stream: no DATA, no END_STREAM, no RST_STREAM. (It still answers
SETTINGS and PING, as any HTTP/2 peer must.) Each frame-level event it receives is printed as one
JSON line, ``t`` being seconds since the request was sent, for example::

    {"t": 0.004, "event": "headers", "stream_id": 1, "end_stream": true,
     "headers": {":status": "200", "content-type": "application/grpc", "grpc-status": "7", ...}}
    {"t": 2.006, "event": "rst_stream", "stream_id": 1, "error_code": 8, "error_name": "CANCEL"}
    {"t": 2.006, "event": "exit", "reason": "stream_reset"}

It stops when the stream is reset, the connection closes (GOAWAY or EOF) or ``--timeout-s``
passes, and says which in a last ``exit`` line. Exit status: 0 after any of those, 2 on bad
arguments, 1 when the harness itself fails (cannot connect, protocol error).
"""

import argparse
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

READ_SIZE = 65535


def emit(started, event, **fields):
    line = {"t": round(time.monotonic() - started, 4), "event": event}
    line.update(fields)
    print(json.dumps(line), flush=True)


def text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def describe(event):
    """(name, fields) for one h2 event, or None for events that say nothing about the stream."""
    if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived,
                          h2.events.InformationalResponseReceived)):
        return "headers", {
            "stream_id": event.stream_id,
            "kind": type(event).__name__,
            "end_stream": event.stream_ended is not None,
            "headers": {text(name): text(value) for name, value in event.headers},
        }
    if isinstance(event, h2.events.DataReceived):
        return "data", {
            "stream_id": event.stream_id,
            "length": event.flow_controlled_length,
            "end_stream": event.stream_ended is not None,
        }
    if isinstance(event, h2.events.StreamEnded):
        # Reported with the HEADERS or DATA that carried END_STREAM; kept for completeness.
        return "end_stream", {"stream_id": event.stream_id}
    if isinstance(event, h2.events.StreamReset):
        return "rst_stream", {
            "stream_id": event.stream_id,
            "error_code": int(event.error_code),
            "error_name": getattr(event.error_code, "name", str(event.error_code)),
            "remote": event.remote_reset,
        }
    if isinstance(event, h2.events.ConnectionTerminated):
        return "goaway", {
            "error_code": int(event.error_code),
            "error_name": getattr(event.error_code, "name", str(event.error_code)),
            "last_stream_id": event.last_stream_id,
        }
    if isinstance(event, h2.events.RemoteSettingsChanged):
        return "settings", {
            "changed": {getattr(k, "name", str(k)): v.new_value
                        for k, v in event.changed_settings.items()},
        }
    if isinstance(event, h2.events.PingReceived):
        return "ping", {}
    if isinstance(event, h2.events.WindowUpdated):
        return "window_update", {"stream_id": event.stream_id, "delta": event.delta}
    return None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--method", default="/abortguard.demo.v1.DemoService/Bidi")
    parser.add_argument("--abort", default="PERMISSION_DENIED")
    parser.add_argument("--timeout-s", type=float, default=10.0,
                        help="give up this long after sending the request")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    if not host or not port.isdigit() or args.timeout_s <= 0:
        parser.error("--target must be host:port and --timeout-s > 0")

    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(stream_id, [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", args.method),
        (":authority", args.target),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("x-demo-abort", args.abort),
    ], end_stream=False)
    sock.sendall(conn.data_to_send())
    started = time.monotonic()
    emit(started, "request_sent", stream_id=stream_id)

    deadline = started + args.timeout_s
    reason = "timeout"
    while reason == "timeout":
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            data = sock.recv(READ_SIZE)
        except socket.timeout:
            break
        except ConnectionResetError:
            reason = "connection_reset"
            break
        if not data:
            reason = "eof"
            break
        for event in conn.receive_data(data):
            described = describe(event)
            if described is None:
                continue
            name, fields = described
            emit(started, name, **fields)
            if name == "rst_stream" and fields["stream_id"] == stream_id:
                reason = "stream_reset"
            elif name == "goaway":
                reason = "goaway"
        # SETTINGS and PING acknowledgements; never anything for our stream.
        pending = conn.data_to_send()
        if pending:
            sock.sendall(pending)
    emit(started, "exit", reason=reason)
    sock.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit:
        raise
    except BaseException as error:
        print("passive_h2_client: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(1)
