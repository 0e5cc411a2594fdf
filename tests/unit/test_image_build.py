"""The CAs an image build trusts (the host's bundle by default), and following a build: step,
elapsed time, estimate from the previous build, downloaded size, the fix for a failed build."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from claudex_tui import cli
from container import image
from container.build_progress import (
    BuildTracker,
    failure_fix,
    load_history,
    save_history,
    summary,
)
from container.errors import UsageError

HOST = "/etc/ssl/certs/ca-certificates.crt"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBxyz%d\n-----END CERTIFICATE-----\n"


def _pem(tmp_path: Path, name: str, *ns: int) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(PEM % n for n in ns))
    return path


def test_ssl_cert_file_wins_over_the_system_bundle(tmp_path: Path):
    mine = _pem(tmp_path, "mine.pem", 1)
    env = {"SSL_CERT_FILE": str(mine)}
    assert image.host_ca_bundle(env, [HOST]) == mine


def test_the_first_system_bundle_that_exists(tmp_path: Path):
    second = _pem(tmp_path, "ca-bundle.crt", 1)
    assert image.host_ca_bundle({}, [str(tmp_path / "none.crt"), str(second)]) == second
    assert image.host_ca_bundle({}, [str(tmp_path / "none.crt")]) is None


def test_a_missing_ssl_cert_file_is_one_clear_message(tmp_path: Path):
    with pytest.raises(UsageError) as err:
        image.host_ca_bundle({"SSL_CERT_FILE": str(tmp_path / "gone.pem")}, [HOST])
    assert "SSL_CERT_FILE" in err.value.message and "--no-host-ca" in (err.value.hint or "")


def test_the_host_bundle_comes_first_and_counts_once(tmp_path, monkeypatch):
    host = _pem(tmp_path, "host.crt", 1, 2)
    corp = _pem(tmp_path, "corp.pem", 3)
    monkeypatch.setenv("SSL_CERT_FILE", str(host))
    assert image.build_ca_files([str(corp)]) == [str(host), str(corp)]
    # Given again (as scripts/test.sh does with --ca-cert): the same list as without it.
    assert image.build_ca_files([str(host)]) == [str(host)]
    assert image.build_ca_files([str(tmp_path / "." / "host.crt")]) == [str(host)]


def test_no_host_ca_leaves_only_the_given_files(tmp_path, monkeypatch):
    host = _pem(tmp_path, "host.crt", 1)
    corp = _pem(tmp_path, "corp.pem", 3)
    monkeypatch.setenv("SSL_CERT_FILE", str(host))
    assert image.build_ca_files([str(corp)], host_ca=False) == [str(corp)]
    assert image.build_ca_files([], host_ca=False) == []
    certs = image.split_certificates(image.build_ca_files([], host_ca=False))
    with tarfile.open(fileobj=image.build_context_tar(certs)) as tar:
        assert not [n for n in tar.getnames() if n.startswith("extra-ca/")]
    assert "--no-host-ca" in image.trusted_summary([], host_ca=False)


def test_no_flag_and_the_host_bundle_given_make_the_same_context(monkeypatch):
    """What keeps the layer cache: the extra-ca/ files are byte for byte the same."""
    if not Path(HOST).exists():
        pytest.skip("no system bundle here")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)

    def extra_ca(files: list[str]) -> dict[str, bytes]:
        buf = image.build_context_tar(image.split_certificates(files))
        with tarfile.open(fileobj=buf) as tar:
            return {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.name.startswith("extra-ca/") and m.isfile()
            }

    default = extra_ca(image.build_ca_files([]))
    assert default and default == extra_ca([HOST])
    assert default == extra_ca(image.build_ca_files([HOST]))


def test_a_certificate_in_two_files_is_added_once(tmp_path: Path):
    a = _pem(tmp_path, "a.pem", 1, 2)
    b = _pem(tmp_path, "b.pem", 2, 3)
    assert len(image.split_certificates([a, b])) == 3


def test_build_and_start_take_no_host_ca():
    _, ns = cli.parse(["build", "--no-host-ca"])
    assert ns.no_host_ca
    _, ns = cli.parse(["update"])
    assert not ns.no_host_ca
    _, ns = cli.parse([".", "--no-host-ca"])
    assert ns.no_host_ca


def test_the_config_can_opt_out_of_the_host_cas(tmp_path, monkeypatch):
    from claudex_tui.commands import image as image_command

    asked: list[bool] = []

    def up_to_date(client, name, ca_files, host_ca=True):  # the check `claudex build` makes first
        asked.append(host_ca)
        return True

    monkeypatch.setattr(image_command, "connect", lambda: None)
    monkeypatch.setattr(image_command, "up_to_date", up_to_date)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "claudex").mkdir()
    config = tmp_path / "claudex" / "config.toml"
    for text, flags, want in (
        ("", [], True),
        ("", ["--no-host-ca"], False),
        ("host_ca = false\n", [], False),
    ):
        config.write_text(text)
        _, ns = cli.parse(["build", *flags])
        assert image_command.run_build(ns) == 0
        assert asked.pop() is want, (text, flags)


# -- following a build ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(tracker: BuildTracker, clock: Clock, steps: list[tuple[str, float, bool]]) -> None:
    total = len(steps)
    for n, (name, seconds, cached) in enumerate(steps, 1):
        tracker.feed({"stream": f"Step {n}/{total} : {name}\n"})
        tracker.feed({"stream": " ---> Using cache\n" if cached else " ---> Running in abc\n"})
        clock.now += seconds
    tracker.finish()


STEPS = ["FROM debian:bookworm-slim", "RUN apt-get update", "RUN npm install -g x", "LABEL a=b"]


def test_steps_elapsed_and_downloads():
    clock = Clock()
    t = BuildTracker(clock=clock)
    t.feed({"stream": "Step 1/4 : FROM debian:bookworm-slim\n"})
    t.feed({"status": "Downloading", "progressDetail": {"current": 1000, "total": 9}, "id": "l1"})
    t.feed({"status": "Downloading", "progressDetail": {"current": 3000, "total": 9}, "id": "l1"})
    t.feed({"status": "Downloading", "progressDetail": {"current": 500, "total": 9}, "id": "l2"})
    clock.now += 5
    t.feed({"stream": "Step 2/4 : RUN apt-get update\n"})
    t.feed({"stream": "Fetched 45.6 MB in 3s (14.2 MB/s)\n"})
    clock.now += 70
    p = t.progress()
    assert (p.step, p.total, p.name) == (2, 4, "RUN apt-get update")
    assert p.downloaded == 3500 + 45_600_000
    assert p.elapsed == 75 and p.remaining is None  # no earlier build: no estimate
    line = summary(p)
    assert line == "step 2/4 · 1m15s · 45.6 MB downloaded · RUN apt-get update"


def test_the_estimate_comes_from_the_previous_build(tmp_path: Path):
    clock = Clock()
    first = BuildTracker(clock=clock)
    _run(first, clock, [(STEPS[0], 1, False), (STEPS[1], 60, False), (STEPS[2], 120, False),
                        (STEPS[3], 1, False)])  # fmt: skip
    path = tmp_path / "build-steps.json"
    save_history(path, first.new_history())

    second = BuildTracker(load_history(path), clock=clock)
    second.feed({"stream": "Step 1/4 : FROM debian:bookworm-slim\n"})
    second.feed({"stream": " ---> Using cache\n"})
    clock.now += 1
    second.feed({"stream": "Step 2/4 : RUN apt-get update\n"})
    clock.now += 20
    p = second.progress()
    assert p.remaining == pytest.approx(40 + 120 + 1)
    assert "about 2m41s left" in summary(p)


def test_a_cached_build_keeps_the_real_durations(tmp_path: Path):
    clock = Clock()
    path = tmp_path / "build-steps.json"
    ran = BuildTracker(clock=clock)
    _run(ran, clock, [(s, 30, False) for s in STEPS])
    save_history(path, ran.new_history())
    cached = BuildTracker(load_history(path), clock=clock)
    _run(cached, clock, [(s, 0.1, True) for s in STEPS])
    save_history(path, cached.new_history())
    assert [s["seconds"] for s in load_history(path)] == [30, 30, 30, 30]
    # With no earlier run, a step that came from the cache has no known duration: no estimate
    # while such a step is still to come.
    fresh = tmp_path / "fresh.json"
    only_cached = BuildTracker(clock=clock)
    _run(only_cached, clock, [(s, 5, i in (1, 2)) for i, s in enumerate(STEPS)])
    save_history(fresh, only_cached.new_history())
    assert [s["seconds"] for s in load_history(fresh)] == [5, None, None, 5]
    nxt = BuildTracker(load_history(fresh), clock=clock)
    nxt.feed({"stream": "Step 1/4 : FROM debian:bookworm-slim\n"})
    assert nxt.progress().remaining is None
    nxt.feed({"stream": "Step 3/4 : RUN npm install -g x\n"})
    assert nxt.progress().remaining == 5


def test_broken_history_is_no_history(tmp_path: Path):
    path = tmp_path / "build-steps.json"
    for text in ("{", "[]", '{"steps": 3}', '{"steps": [{"seconds": "x"}]}'):
        path.write_text(text)
        assert load_history(path) == []


def test_the_tail_is_kept_for_a_failure():
    t = BuildTracker()
    t.feed({"stream": "".join(f"line {n}\n" for n in range(100))})
    assert len(t.tail) == 40 and t.tail[-1] == "line 99"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("npm error code SELF_SIGNED_CERT_IN_CHAIN", "--ca-cert FILE"),
        ("curl: (60) SSL certificate problem: self-signed certificate", "--ca-cert FILE"),
        ("write /x: no space left on device", "docker system prune"),
        ("Temporary failure resolving 'deb.debian.org'", "DNS"),
        ("npm error code ETIMEDOUT", "network"),
        ("pull access denied for debian", "ensure-engine.sh"),
        ("exit code: 2", "cached steps"),
    ],
)
def test_the_fix_for_a_failed_build(text: str, wanted: str):
    fix = failure_fix(text, "the host's bundle /etc/ssl/certs/ca-certificates.crt")
    assert wanted in fix or wanted.lower() in fix.lower(), fix


def test_the_tls_fix_says_what_was_trusted():
    fix = failure_fix("SELF_SIGNED_CERT_IN_CHAIN", image.trusted_summary([], host_ca=False))
    assert "--no-host-ca" in fix and "--ca-cert" in fix


def test_context_tar_is_unchanged_without_certs():
    with tarfile.open(fileobj=io.BytesIO(image.build_context_tar([]).getvalue())) as tar:
        assert "Dockerfile" in tar.getnames() and "extra-ca" in tar.getnames()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_shows_a_build_on_a_terminal_and_in_logs():
    from claudex_tui import output
    from claudex_tui.commands.image import build_progress
    from container.build_progress import BuildProgress

    steps = [BuildProgress(n, 4, "x", name=STEPS[n - 1], elapsed=n) for n in (1, 1, 2)]
    tty = _Tty()
    show = build_progress(output.Progress("building image claudex (first run)", stream=tty))
    for p in steps:
        show(p)
    drawn = tty.getvalue()
    assert drawn.count("claudex: building image claudex (first run)\n") == 1
    assert "\r\x1b[2K███░░░░░░░░░ step 1/4 · 1s · FROM debian:bookworm-slim" in drawn
    assert drawn.endswith("\r\x1b[2K██████░░░░░░ step 2/4 · 2s · RUN apt-get update")

    log = io.StringIO()
    show = build_progress(output.Progress("building image claudex", stream=log))
    for p in steps:
        show(p)
    assert log.getvalue().splitlines() == [
        "claudex: building image claudex",
        "step 1/4 · 1s · FROM debian:bookworm-slim",  # once per step, however often reported
        "step 2/4 · 2s · RUN apt-get update",
    ]


class _FailingBuild:
    """An engine whose build stops at npm with a proxy's certificate (the stream as Docker
    sends it); nothing else of the engine is used."""

    class api:  # docker-py's attribute name
        @staticmethod
        def build(**kw: object):
            yield {"stream": "Step 1/3 : FROM debian:bookworm-slim\n"}
            yield {"stream": " ---> Using cache\n"}
            yield {"stream": "Step 2/3 : RUN npm install -g @anthropic-ai/claude-code\n"}
            yield {"stream": " ---> Running in 0123\n"}
            yield {"stream": "npm error code SELF_SIGNED_CERT_IN_CHAIN\n"}
            yield {"stream": "npm error errno SELF_SIGNED_CERT_IN_CHAIN\n"}
            yield {
                "error": "The command '/bin/sh -c npm install' returned a non-zero code: 1",
                "errorDetail": {"message": "The command returned a non-zero code: 1"},
            }

        @staticmethod
        def inspect_image(name: str) -> dict[str, object]:
            raise LookupError(name)


def test_a_failed_build_names_its_step_its_last_lines_and_the_fix(tmp_path, monkeypatch):
    from container.errors import ImageError

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    host = _pem(tmp_path, "host.crt", 1)
    monkeypatch.setenv("SSL_CERT_FILE", str(host))
    seen = []
    with pytest.raises(ImageError) as err:
        image.build_image(_FailingBuild(), "claudextest-x", on_progress=seen.append)  # type: ignore[arg-type]
    message, hint = err.value.message, err.value.hint or ""
    assert "failed at step 2/3 (RUN npm install -g @anthropic-ai/claude-code)" in message
    assert "  npm error code SELF_SIGNED_CERT_IN_CHAIN" in message  # its last lines
    assert f"it trusted: the host's bundle {host}" in hint and "--ca-cert FILE" in hint
    assert seen and seen[-1].step == 2
