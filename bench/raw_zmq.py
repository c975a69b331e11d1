"""Baseline (a): `print(1)` straight to an IPython kernel over ZMQ with jupyter_client, no Jupyter Server.

    python bench/raw_zmq.py [--warmups 20] [--runs 200]     # one block, then exit
    python bench/raw_zmq.py [--warmups 20] --serve          # a block per line "N" on stdin, until EOF

Starts a `python3` kernel (this interpreter's ipykernel) and runs the warm-ups; then per run: execute_request,
and wait for both `status: idle` (IOPub) and the execute_reply (shell) of that request. Each block is one JSON
line on stdout: the round-trip times in ms, when each message type arrived (ms after sending) and the kernel's
own busy -> idle time from its header timestamps. `--serve` keeps the kernel between blocks, so the benchmark can
interleave baseline blocks with the paths it compares (machine noise then hits both alike).
"""

import argparse
import json
import sys
import time

from jupyter_client.manager import KernelManager


def one_execution(client, code="print(1)"):
    """Round trip in ms, arrival offsets by message type, kernel-side busy->idle in ms."""
    arrivals = {}
    kernel_dates = {}
    start = time.perf_counter()
    msg_id = client.execute(code, store_history=True)
    idle = replied = False
    while not idle:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status":
            kind = f"status:{msg['content']['execution_state']}"
            kernel_dates[kind] = msg["header"]["date"]
        arrivals.setdefault(kind, (time.perf_counter() - start) * 1000)
        idle = kind == "status:idle"
    while not replied:
        msg = client.get_shell_msg(timeout=30)
        replied = msg["parent_header"].get("msg_id") == msg_id
    arrivals["execute_reply"] = (time.perf_counter() - start) * 1000  # read after idle: an upper bound
    total = (time.perf_counter() - start) * 1000
    kernel_ms = None
    if "status:busy" in kernel_dates and "status:idle" in kernel_dates:
        kernel_ms = (kernel_dates["status:idle"] - kernel_dates["status:busy"]).total_seconds() * 1000
    return total, arrivals, kernel_ms


def block(client, runs):
    samples, kernel_side, by_type = [], [], {}
    for _ in range(runs):
        total, arrivals, kernel_ms = one_execution(client)
        samples.append(total)
        if kernel_ms is not None:
            kernel_side.append(kernel_ms)
        for kind, offset in arrivals.items():
            by_type.setdefault(kind, []).append(offset)
    return {"samples_ms": samples, "kernel_busy_to_idle_ms": kernel_side, "arrivals_ms": by_type}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        for _ in range(args.warmups):
            one_execution(client)
        if not args.serve:
            print(json.dumps(block(client, args.runs)), flush=True)
            return
        print(json.dumps({"ready": True}), flush=True)
        for line in iter(sys.stdin.readline, ""):
            if line.strip():
                print(json.dumps(block(client, int(line))), flush=True)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
