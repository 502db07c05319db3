"""`genlab bench explore --clients N [--requests M]`: how many students one explorer serves.

The explorer is started the way an instructor starts it (`genlab explore`, every pretrained model,
a subprocess on a free loopback port). N clients then ask it at once, each M times in a row, for
a new image: the seed box of the first generator tab (the event named image_from_seed_<tab>),
asked as the page asks it: each client is a session of its own (opened first, all clients at once,
with two untimed requests: Gradio sets a session up over its first events, which is reported
apart) and posts the event (POST /gradio_api/run/<event>: the explorer answers it outside
Gradio's queue; a queued event would join the queue and read its session's event stream). The
image arrives inline in the answer (an image file it named instead would be fetched too). A
request's latency runs from the POST to the decoded image. The clients run in this
process (asyncio, one keep-alive connection each), on the same cores as the server, as a
classroom's browsers do not: the figures are an upper bound on the server's own time.

Reported: p50 and p95 latency, images per second (answered requests over the timed phase's wall
clock), errors, and the server's resident memory before and after the timed phase (Linux).
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from genlab.console import table
from genlab.errors import GenlabError
from genlab.explorer.images import html_image

ENDPOINT_PREFIX = "image_from_seed_"     # the explorer's api_name for a generator tab's seed box
OPENING_REQUESTS = 2                     # untimed first requests of each session (Gradio sets a session up)
OPENING_SEEDS = 10_000_000               # their seeds, apart from the timed requests' seeds


def summarize(latencies: Sequence[float], wall_seconds: float, errors: int = 0) -> dict:
    """p50 / p95 / max latency (seconds) of the answered requests and images per second over the
    wall clock of the whole timed phase."""
    values = np.asarray(list(latencies), np.float64)
    if wall_seconds <= 0:
        raise GenlabError("the timed phase must last a positive time")
    if not len(values):
        return {"requests": 0, "errors": int(errors), "p50_s": None, "p95_s": None, "max_s": None, "images_per_s": 0.0}
    return {"requests": int(len(values)), "errors": int(errors), "p50_s": float(np.percentile(values, 50)),
            "p95_s": float(np.percentile(values, 95)), "max_s": float(values.max()),
            "images_per_s": float(len(values) / wall_seconds)}


def resident_mb(pid: int) -> float | None:
    """A process's resident memory in MB (Linux /proc), None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """A process's CPU time so far (user + system, all its threads; Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------- the server
@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path


def start_server(runs: Sequence[str] = (), *, timeout_s: float = 300.0, log_folder: Path) -> Server:
    """`genlab explore RUNS --no-browser` in a subprocess on a free loopback port; returns once
    its API answers (or raises a one-line error with the server's last line)."""
    from genlab import backend
    from genlab.explorer import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = log_folder / "explore.log"
    source = str(Path(__file__).resolve().parents[2])
    env = backend.subprocess_environment(os.environ.get("KERAS_BACKEND", "tensorflow"),
                                         PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "genlab", "explore", *map(str, runs), "--no-browser", "--port", str(port)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    server = Server(process, url, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise GenlabError(f"genlab explore stopped before serving: {_last_line(log)}")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    stop_server(server)
    raise GenlabError(f"genlab explore did not answer within {timeout_s:.0f} s: {_last_line(log)}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    return lines[-1].strip() if lines else "no output"


@dataclass
class Endpoint:
    """The first generator tab's seed box, as the page calls it: its event (fn_index), the
    component that triggers it, and the inputs' values (the seed first, replaced per request)."""
    api_name: str
    fn_index: int
    trigger_id: int
    data: list
    queued: bool = True            # through Gradio's queue (join + event stream), else one POST /run


def find_endpoint(url: str) -> Endpoint:
    import json

    with urllib.request.urlopen(url + "config", timeout=30) as answer:
        config = json.loads(answer.read())
    events = sorted((event for event in config.get("dependencies", [])
                     if str(event.get("api_name") or "").startswith(ENDPOINT_PREFIX)),
                    key=lambda event: int(str(event["api_name"]).rsplit("_", 1)[1]))
    if not events:
        raise GenlabError("the explorer serves no generator tab (no run with a latent space to draw from)")
    event = events[0]
    values = {component["id"]: component.get("props", {}).get("value") for component in config.get("components", [])}
    return Endpoint(event["api_name"], int(event["id"]), int(event["targets"][0][0]),
                    [values.get(index) for index in event["inputs"]], queued=event.get("queue") is not False)


# ---------------------------------------------------------------------------- the clients
async def _request(client, url: str, endpoint: Endpoint, session: str, seed: int) -> np.ndarray | bytes:
    """One new image as the page asks for it: an event outside the queue is one POST whose answer
    holds the result; a queued one joins the queue with the session's id and reads the session's
    event stream to this event's result. An image file the result names (rather than an inline
    image) is fetched too. Returns the image: its pixels (inline), or the file's bytes."""
    import json

    body = {"data": [seed, *endpoint.data[1:]], "fn_index": endpoint.fn_index, "session_hash": session,
            "event_data": None, "trigger_id": endpoint.trigger_id}
    if not endpoint.queued:
        status, answer = await client.lean(session).post_json(f"/gradio_api/run/{endpoint.api_name}", body)
        if status != 200:
            raise RuntimeError(f"the explorer answered HTTP {status}: {str(answer)[:200]}")
        return await _image_of(client, answer["data"])
    answer = await client.post(f"{url}gradio_api/queue/join", json=body)
    answer.raise_for_status()
    event_id = answer.json()["event_id"]
    result = None
    async with client.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                result = message
                break
            if message.get("msg") in ("unexpected_error", "server_stopped"):
                raise RuntimeError(f"the explorer answered {message.get('msg')}: {message.get('message')}")
    if result is None or not result.get("success"):
        error = (result or {}).get("output", {}).get("error") if result else "the stream ended without a result"
        raise RuntimeError(f"the explorer answered an error: {error}")
    return await _image_of(client, result["output"]["data"])


async def _image_of(client, values: list) -> np.ndarray | bytes:
    """The image in an event's output values: an inline PNG's pixels, or a named file's bytes."""
    inline = [value for value in values if isinstance(value, str) and "data:image/png;base64," in value]
    if inline:                       # the generator tab's image, inline in the answer
        return html_image(inline[0])
    files = [value for value in values if isinstance(value, dict) and value.get("url")]
    if not files:
        raise RuntimeError("the answer held no image")
    image = await client.get(files[0]["url"])     # an image file the answer names, fetched as a page does
    image.raise_for_status()
    if not image.content:
        raise RuntimeError("the image file was empty")
    return image.content


class _LeanConnection:
    """One keep-alive HTTP/1.1 connection that posts JSON as a browser does (its headers, br/gzip
    accepted) and reads the answer: the measuring clients run on the cores they measure, so they
    should cost as little of them as they can (httpx took about as much CPU per image as the server)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post_json(self, path: str, body: dict) -> tuple[int, object]:
        import json

        payload = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nContent-Length: {len(payload)}\r\n"
                "Connection: keep-alive\r\n\r\n").encode()
        for attempt in (0, 1):     # a kept-alive connection the server closed meanwhile: open a new one once
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(head + payload)
                await self.writer.drain()
                return await self._answer()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise

    async def _answer(self) -> tuple[int, object]:
        import json

        status = int((await self.reader.readuntil(b"\r\n")).split()[1])
        headers = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if not size:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        encoding = headers.get("content-encoding", "")
        if encoding == "br":
            import brotli

            body = brotli.decompress(body)
        elif encoding in ("gzip", "deflate"):
            import zlib

            body = zlib.decompress(body, 47 if encoding == "gzip" else 15)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, json.loads(body) if body else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _clients(url: str, endpoint: Endpoint, clients: int, requests: int, first_seed: int, opened: bool,
                   images: dict | None, opening: list | None):
    import urllib.parse

    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=2 * clients + 4, max_keepalive_connections=2 * clients + 4)
    sessions = [f"genlab-bench-{first_seed}-{index}" for index in range(clients)]
    address = urllib.parse.urlsplit(url)
    lean = {session: _LeanConnection(address.hostname, address.port) for session in sessions}
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        client.lean = lean.__getitem__          # each session its own connection, as each browser has
        if opened:
            # Each client first opens its session, untimed, the whole class at once: Gradio builds a
            # session's state over its first two events (once per student, not per image), which
            # takes it far longer than an image. Those first images' times go to `opening`. (Seeds
            # of their own: Gradio rewrites an image file in place when the same image is asked for
            # again, so identical images at the same instant could be read half written.)
            for round_ in range(OPENING_REQUESTS):
                async def first(index: int, session: str) -> None:
                    started = time.perf_counter()
                    await _request(client, url, endpoint, session, OPENING_SEEDS + first_seed + clients * round_ + index)
                    if opening is not None:
                        opening.append(time.perf_counter() - started)

                await asyncio.gather(*(first(index, session) for index, session in enumerate(sessions)))

        async def one_client(index: int) -> None:
            for request in range(requests):
                seed = first_seed + index * requests + request
                started = time.perf_counter()
                try:
                    image = await _request(client, url, endpoint, sessions[index], seed)
                except Exception as error:  # noqa: BLE001 - counted and reported, never raised
                    errors.append(f"{type(error).__name__}: {error}")
                else:
                    latencies.append(time.perf_counter() - started)
                    if images is not None:
                        images[seed] = image

        started = time.perf_counter()
        await asyncio.gather(*(one_client(index) for index in range(clients)))
        wall = time.perf_counter() - started
    for connection in lean.values():
        connection.close()
    return latencies, errors, wall


def fire(url: str, endpoint: Endpoint, *, clients: int, requests: int, first_seed: int = 1000, opened: bool = True,
         images: dict | None = None, opening: list | None = None):
    """N clients at once (each its own session, opened first unless `opened` is False), client i
    asking for seeds first_seed + i * requests + 0, 1, ... in a row: (latencies, error messages,
    wall seconds of the timed part). `images`, if given, receives each seed's image; `opening` the
    latencies of the sessions' untimed first requests."""
    return asyncio.run(_clients(url, endpoint, clients, requests, first_seed, opened, images, opening))


# ---------------------------------------------------------------------------- the command
def bench_explore(*, clients: int = 30, requests: int = 10, runs: Sequence[str] = (), warmup: int = 5,
                  timeout_s: float = 300.0) -> dict:
    """Start `genlab explore` (RUNS, default every pretrained model), warm it up with `warmup`
    single requests, then fire `clients` concurrent clients of `requests` requests each.
    Returns p50/p95 latency (seconds), images per second, errors and the server's memory."""
    import importlib.util

    from genlab.checks import count

    clients = count(clients, "--clients", minimum=1, maximum=1000)
    requests = count(requests, "--requests", minimum=1, maximum=10000)
    if importlib.util.find_spec("gradio") is None or importlib.util.find_spec("httpx") is None:
        raise GenlabError('genlab bench explore needs Gradio: pip install "genlab[app]"')
    with tempfile.TemporaryDirectory() as folder:
        print("starting genlab explore " + (" ".join(map(str, runs)) or "(every pretrained model)"), flush=True)
        server = start_server(runs, timeout_s=timeout_s, log_folder=Path(folder))
        try:
            endpoint = find_endpoint(server.url)
            if warmup:
                fire(server.url, endpoint, clients=1, requests=warmup, first_seed=0)
            print(f"{clients} clients open the page at once, then ask {requests} new images each: the seed box of "
                  f"{endpoint.api_name}", flush=True)
            opening: list[float] = []
            fire(server.url, endpoint, clients=clients, requests=0, opening=opening)     # sessions opened, untimed
            memory_before = resident_mb(server.process.pid)
            cpu_before, own_before = cpu_seconds(server.process.pid), time.process_time()
            latencies, errors, wall = fire(server.url, endpoint, clients=clients, requests=requests, opened=False)
            cpu_after, own_after = cpu_seconds(server.process.pid), time.process_time()
            memory_after = resident_mb(server.process.pid)
        finally:
            stop_server(server)
    result = {"clients": clients, "requests_per_client": requests, "endpoint": endpoint.api_name,
              **summarize(latencies, wall, len(errors)), "wall_s": wall,
              "server_rss_mb_before": memory_before, "server_rss_mb_after": memory_after,
              # CPU time (all threads) per answered request: what one image costs the server, and the clients
              "server_cpu_ms_per_image": None if cpu_before is None or not latencies
              else 1000.0 * (cpu_after - cpu_before) / len(latencies),
              "client_cpu_ms_per_image": 1000.0 * (own_after - own_before) / len(latencies) if latencies else None,
              # the sessions' first images, the whole class opening the page at once (untimed above)
              "opening_p50_s": float(np.percentile(opening, 50)) if opening else None,
              "opening_max_s": float(max(opening)) if opening else None}
    if errors:
        result["first_error"] = errors[0]
    shown = [[clients, result["requests"], result["errors"], _ms(result["p50_s"]), _ms(result["p95_s"]), _ms(result["max_s"]),
              result["images_per_s"], _rounded(result["server_cpu_ms_per_image"]), _rounded(memory_before),
              _rounded(memory_after)]]
    print(table(["clients", "answered", "errors", "p50 ms", "p95 ms", "max ms", "images/s", "server CPU ms/image",
                 "RSS MB before", "RSS MB after"],
                shown, title=f"genlab bench explore: {clients} clients at once, {requests} new images each "
                             f"({os.cpu_count()} cores)"))
    if opening:
        print(f"the first {OPENING_REQUESTS} images of each client, all {clients} opening the page at once (not in the "
              f"figures above): p50 {_ms(result['opening_p50_s'])} ms, max {_ms(result['opening_max_s'])} ms")
    if errors:
        print(f"first error: {errors[0]}")
    return result


def _ms(seconds: float | None):
    return "-" if seconds is None else round(1000.0 * seconds)


def _rounded(value: float | None):
    return "-" if value is None else round(value)
