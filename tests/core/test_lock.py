"""The sync lock: one holder per state directory, crashed holders released by the OS."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ConfigError, RailfiestaError
from core.lock import LOCK_NAME, StateLock, SyncLocked, holder_name, read_holder
from tests.conftest import REPO_ROOT

HOLDER = """
import sys
from pathlib import Path
from core.lock import StateLock

lock = StateLock(Path(sys.argv[1]), command="railfiesta sync --every 5m")
lock.acquire()
print("held", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``tmp_path / "state"`` until its stdin closes."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "held\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def _dead_pid() -> int:
    """The pid of a process that has run and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def _contents(directory: Path) -> dict[str, object]:
    data = json.loads((directory / LOCK_NAME).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_acquire_writes_the_holder_and_release_empties_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    lock = StateLock(state, command="railfiesta migrate")
    before = int(time.time())
    assert lock.acquire() is None
    assert lock.held is True
    data = _contents(state)
    assert set(data) == {"pid", "host", "started", "command"}
    assert data["pid"] == os.getpid()
    assert data["host"] == socket.gethostname()
    assert data["command"] == "railfiesta migrate"
    assert isinstance(data["started"], int) and before <= data["started"] <= time.time()
    assert lock.taken_over_from is None and lock.warning is None
    assert stat.S_IMODE(state.stat().st_mode) == 0o700

    lock.release()
    assert lock.held is False
    assert (state / LOCK_NAME).read_bytes() == b""  # kept (never deleted), emptied
    lock.release()  # a second release does nothing
    with StateLock(state) as again:  # and it can be taken again
        assert again.held and again.taken_over_from is None


def test_the_lock_file_is_0600_whatever_the_umask_or_its_old_mode(tmp_path: Path) -> None:
    state = tmp_path / "state"
    old_umask = os.umask(0)
    try:
        with StateLock(state):
            assert stat.S_IMODE((state / LOCK_NAME).stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)
    (state / LOCK_NAME).chmod(0o644)
    with StateLock(state):
        assert stat.S_IMODE((state / LOCK_NAME).stat().st_mode) == 0o600


def test_a_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with StateLock(state, command="railfiesta sync"):
        started = _contents(state)["started"]
        assert isinstance(started, int)
        with pytest.raises(SyncLocked) as caught:
            StateLock(state, command="railfiesta migrate").acquire()
        error = caught.value
        assert isinstance(error, RailfiestaError)
        when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
        assert error.message == (
            f"another railfiesta sync holds {state / LOCK_NAME}: pid {os.getpid()} on "
            f"{socket.gethostname()}, running 'railfiesta sync', started {when}"
        )
        assert error.hint == f"wait for it to finish, or stop it (kill {os.getpid()})"
        assert error.holder["pid"] == os.getpid()
        assert error.path == state / LOCK_NAME
        assert _contents(state)["command"] == "railfiesta sync"  # the refused one wrote nothing
    with StateLock(state, command="railfiesta migrate") as lock:  # free again after release
        assert lock.taken_over_from is None


def test_the_same_object_cannot_acquire_twice(tmp_path: Path) -> None:
    with StateLock(tmp_path) as lock, pytest.raises(RuntimeError, match="already held"):
        lock.acquire()


def test_the_context_manager_releases_on_an_exception(tmp_path: Path) -> None:
    with pytest.raises(KeyError), StateLock(tmp_path):
        raise KeyError("boom")
    assert read_holder(tmp_path) is None
    with StateLock(tmp_path) as lock:
        assert lock.taken_over_from is None


def test_a_stale_file_naming_a_dead_pid_is_taken_over(tmp_path: Path) -> None:
    pid = _dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "started": 1_700_000_000, "command": "x y"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(stale), encoding="utf-8")
    assert read_holder(tmp_path) is None  # nobody holds it: the file is only a leftover

    lock = StateLock(tmp_path, command="railfiesta sync")
    warning = lock.acquire()
    try:
        assert lock.taken_over_from == stale
        when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(1_700_000_000))
        assert (
            warning
            == lock.warning
            == (
                f"took over {tmp_path / LOCK_NAME} from pid {pid} on {socket.gethostname()} "
                f"('x y', started {when}), which is no longer running"
            )
        )
        assert _contents(tmp_path)["pid"] == os.getpid()
    finally:
        lock.release()


def test_a_stale_file_naming_a_live_pid_that_does_not_hold_it(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = {"pid": sleeper.pid, "host": socket.gethostname(), "started": 5, "command": ""}
        (tmp_path / LOCK_NAME).write_text(json.dumps(stale), encoding="utf-8")
        with StateLock(tmp_path) as lock:
            assert lock.taken_over_from == stale
            assert lock.warning is not None
            assert lock.warning.endswith(
                "which is running but no longer holds the lock (a reused pid, or a killed release)"
            )
    finally:
        sleeper.kill()
        sleeper.wait(timeout=10)


def test_a_stale_file_from_another_host(tmp_path: Path) -> None:
    stale = {"pid": 4242, "host": "elsewhere.example", "started": 5, "command": "sync"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(stale), encoding="utf-8")
    with StateLock(tmp_path) as lock:
        assert lock.taken_over_from == stale
        assert lock.warning is not None
        assert "pid 4242 on elsewhere.example" in lock.warning
        assert lock.warning.endswith("on another host; it no longer holds the lock")


@pytest.mark.parametrize("junk", [b"", b"not json", b"[1, 2]", b'{"pid": "12"}', b"\xff\xfe"])
def test_an_unreadable_leftover_is_simply_replaced(tmp_path: Path, junk: bytes) -> None:
    (tmp_path / LOCK_NAME).write_bytes(junk)
    with StateLock(tmp_path) as lock:
        assert lock.taken_over_from is None and lock.warning is None
        assert _contents(tmp_path)["pid"] == os.getpid()


def test_another_process_holding_the_lock(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    state = tmp_path / "state"
    info = read_holder(state)
    assert info is not None
    assert info["pid"] == holder.pid
    assert info["host"] == socket.gethostname()
    assert info["command"] == "railfiesta sync --every 5m"

    with pytest.raises(SyncLocked) as caught:
        StateLock(state).acquire()
    assert f"pid {holder.pid} on {socket.gethostname()}" in caught.value.message
    assert "running 'railfiesta sync --every 5m'" in caught.value.message
    assert caught.value.hint == f"wait for it to finish, or stop it (kill {holder.pid})"

    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "released\n"
    assert holder.wait(timeout=10) == 0
    assert read_holder(state) is None
    with StateLock(state) as lock:
        assert lock.taken_over_from is None  # it released cleanly


def test_a_killed_holder_releases_the_lock_and_is_taken_over(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    state = tmp_path / "state"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert read_holder(state) is None  # the OS let go of the flock
    with StateLock(state, command="railfiesta sync") as lock:
        assert lock.taken_over_from is not None
        assert lock.taken_over_from["pid"] == holder.pid
        assert lock.taken_over_from["command"] == "railfiesta sync --every 5m"
        assert lock.warning is not None and lock.warning.endswith("which is no longer running")


def test_read_holder_sees_a_holder_in_this_process(tmp_path: Path) -> None:
    assert read_holder(tmp_path / "missing") is None
    assert read_holder(tmp_path) is None  # a directory without a lock file
    with StateLock(tmp_path, command="console") as lock:
        assert read_holder(tmp_path) == _contents(tmp_path)
        assert read_holder(tmp_path) == {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _contents(tmp_path)["started"],
            "command": "console",
        }
        assert lock.held
    assert read_holder(tmp_path) is None


def test_an_unusable_state_directory_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        StateLock(blocker / "state").acquire()
    assert caught.value.path == str(blocker / "state" / LOCK_NAME)
    assert caught.value.hint == (
        f"make {blocker / 'state'} a directory you may write to, or choose another with --state DIR"
    )


def test_a_symlinked_lock_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep me", encoding="utf-8")
    (tmp_path / LOCK_NAME).symlink_to(target)
    with pytest.raises(ConfigError, match="cannot use the sync lock"):
        StateLock(tmp_path).acquire()
    assert target.read_text(encoding="utf-8") == "keep me"


def test_the_default_command_is_this_process_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["railfiesta", "sync", "--config", "my config.toml"])
    with StateLock(tmp_path):
        assert _contents(tmp_path)["command"] == "railfiesta sync --config 'my config.toml'"


def test_taking_over_a_stale_lock_prints_nothing_itself_so_the_cli_says_it_once(
    tmp_path: Path,
) -> None:
    pid = _dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "started": 1_700_000_000, "command": "x"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(stale), encoding="utf-8")
    script = (
        "import sys; from core.lock import StateLock; "
        f"lock = StateLock({str(tmp_path)!r}, command='t'); "
        "print(lock.acquire() is not None); lock.release()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert (done.stdout, done.stderr) == ("True\n", "")


def test_the_refusal_names_the_verb_that_holds_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with (
        StateLock(state, command="railfiesta migrate --config acme.toml"),
        pytest.raises(SyncLocked) as caught,
    ):
        StateLock(state, command="railfiesta sync --once").acquire()
    assert caught.value.message.startswith(
        f"another railfiesta migrate holds {state / LOCK_NAME}: pid {os.getpid()} on "
    )
    assert "running 'railfiesta migrate --config acme.toml'" in caught.value.message
    assert holder_name("railfiesta --config a.toml sync --watch") == "another railfiesta sync"
    assert holder_name("railfiesta (console)") == "a railfiesta console"
    assert holder_name("railfiesta state import b.json") == "another railfiesta state"
    assert holder_name(None) == "another railfiesta run"
    assert holder_name("python bench.py 'unclosed") == "another railfiesta run"
