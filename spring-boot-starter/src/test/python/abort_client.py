#!/usr/bin/python3
"""Makes many aborted streaming calls with a C-core (grpcio) client and counts how they end.

Run it with Debian's interpreter, which has python3-grpcio:

    /usr/bin/python3 abort_client.py --target 127.0.0.1:PORT \
        --method /abortguard.demo.v1.DemoService/Bidi --shape bidi \
        --behaviour keeps-sending --calls 200 --abort PERMISSION_DENIED

Every call carries the metadata ``x-demo-abort: <code>``, so the sample server rejects it at once.
All calls share one channel, as a real client's would. What the client does with its request
stream until the call ends is ``--behaviour``:

* ``keeps-sending``: a message about every millisecond until the call has ended;
* ``one-then-wait``: one message, then nothing until the call has ended;
* ``nothing``: no message and no half-close until the call has ended;
* ``half-close``: no message, half-closes at once.

It prints one JSON object on stdout, for example::

    {"calls": 200, "statuses": {"PERMISSION_DENIED": 197, "CANCELLED": 3},
     "messages": {"PERMISSION_DENIED: aborted by demo server": 197,
                  "CANCELLED: Received RST_STREAM with error code 8": 3},
     "elapsed_s": 1.234}

It exits 0 whatever the calls' statuses (the caller judges them), 2 on bad arguments and 1 when
the harness itself fails.
"""

import argparse
import collections
import concurrent.futures
import json
import sys
import threading
import time

import grpc

ABORT_KEY = "x-demo-abort"
# How long a request iterator waits for its call to end before giving up (on top of the deadline).
ITERATOR_SLACK_S = 5.0
SEND_INTERVAL_S = 0.001


def demo_request(text):
    """A serialized abortguard.demo.v1.DemoRequest with field 1 (text) set."""
    data = text.encode("utf-8")
    return b"\x0a" + varint(len(data)) + data


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def requests(behaviour, done, wait_s):
    """The request iterator for one call; ``done`` is set once the call has ended."""
    if behaviour == "keeps-sending":
        sequence = 0
        deadline = time.monotonic() + wait_s
        while not done.is_set() and time.monotonic() < deadline:
            yield demo_request("m%d" % sequence)
            sequence += 1
            done.wait(SEND_INTERVAL_S)
    elif behaviour == "one-then-wait":
        yield demo_request("m0")
        done.wait(wait_s)
    elif behaviour == "nothing":
        done.wait(wait_s)
        # A generator that never yields still has to be one.
        return
        yield  # pragma: no cover
    elif behaviour == "half-close":
        return
    else:  # argparse restricts the choices
        raise ValueError(behaviour)


def one_call(multi_callable, shape, behaviour, metadata, timeout_s):
    """Makes one call; returns (status code name, "CODE: details")."""
    done = threading.Event()
    request_iterator = requests(behaviour, done, timeout_s + ITERATOR_SLACK_S)
    try:
        if shape == "bidi":
            call = multi_callable(request_iterator, metadata=metadata, timeout=timeout_s)
            try:
                for _ in call:
                    pass
            except grpc.RpcError:
                pass
            code, details = call.code(), call.details()
        else:
            try:
                _, call = multi_callable.with_call(
                    request_iterator, metadata=metadata, timeout=timeout_s)
                code, details = call.code(), call.details()
            except grpc.RpcError as error:
                code, details = error.code(), error.details()
    finally:
        done.set()
    name = code.name if code is not None else "UNKNOWN"
    return name, "%s: %s" % (name, details)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--method", default="/abortguard.demo.v1.DemoService/Bidi")
    parser.add_argument("--shape", choices=["bidi", "client-stream"], default="bidi")
    parser.add_argument(
        "--behaviour",
        choices=["keeps-sending", "one-then-wait", "nothing", "half-close"],
        default="keeps-sending")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--abort", default="PERMISSION_DENIED",
                        help="status code name sent as x-demo-abort; empty sends none")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout-s", type=float, default=10.0, help="each call's deadline")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.concurrency < 1 or args.timeout_s <= 0:
        parser.error("--calls and --concurrency must be >= 1 and --timeout-s > 0")

    metadata = ((ABORT_KEY, args.abort),) if args.abort else ()
    statuses = collections.Counter()
    messages = collections.Counter()
    started = time.monotonic()
    with grpc.insecure_channel(args.target) as channel:
        # Generic bytes API: no serializers, the requests are already encoded.
        if args.shape == "bidi":
            multi_callable = channel.stream_stream(
                args.method, request_serializer=None, response_deserializer=None)
        else:
            multi_callable = channel.stream_unary(
                args.method, request_serializer=None, response_deserializer=None)
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            futures = [
                pool.submit(one_call, multi_callable, args.shape, args.behaviour, metadata,
                            args.timeout_s)
                for _ in range(args.calls)
            ]
            for future in futures:
                status, message = future.result()
                statuses[status] += 1
                messages[message] += 1
    elapsed = time.monotonic() - started
    print(json.dumps({
        "calls": args.calls,
        "statuses": dict(statuses.most_common()),
        "messages": dict(messages.most_common()),
        "elapsed_s": round(elapsed, 3),
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit:
        raise
    except BaseException as error:  # a harness failure, not a call's status
        print("abort_client: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(1)
