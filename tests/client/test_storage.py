"""Storages: the JS Storage interface, FileStorage's file, its locking, and KeyringStorage."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_gate.client import (
    FileStorage,
    KeyringStorage,
    MemoryStorage,
    Storage,
    StorageError,
    default_session_path,
)


@pytest.fixture(params=["memory", "file", "keyring"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "memory":
        return MemoryStorage()
    if request.param == "file":
        return FileStorage(tmp_path / "session.json")
    request.getfixturevalue("memory_keyring")
    return KeyringStorage("test", lock_path=tmp_path / "keyring.lock")


class DictKeyring:
    """A keyring backend in a dict."""

    priority = 1

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.secrets[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[DictKeyring]:
    import keyring
    from keyring.backend import KeyringBackend

    store = DictKeyring()

    class Backend(KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return store.get_password(service, username)

        def set_password(self, service: str, username: str, password: str) -> None:
            store.set_password(service, username, password)

        def delete_password(self, service: str, username: str) -> None:
            store.delete_password(service, username)

    previous = keyring.get_keyring()
    keyring.set_keyring(Backend())  # type: ignore[no-untyped-call]
    yield store
    keyring.set_keyring(previous)


def test_every_storage_gets_sets_removes_and_clears(storage: Storage) -> None:
    assert storage.get_item("a") is None
    storage.set_item("a", "1")
    storage.set_item("b", "2")
    assert storage.get_item("a") == "1"
    storage.remove_item("a")
    storage.remove_item("never-there")
    assert storage.items() == {"b": "2"}
    storage.clear()
    assert storage.items() == {}


def test_every_storage_updates_several_keys_at_once(storage: Storage) -> None:
    storage.update({"a": "1", "b": "2"})
    storage.update({"a": None, "c": "3"})
    assert storage.items() == {"b": "2", "c": "3"}


def test_a_snapshot_stays_the_same_object_until_the_content_changes(storage: Storage) -> None:
    storage.set_item("a", "1")
    first = storage.snapshot()
    assert storage.snapshot() is first
    storage.set_item("a", "2")
    assert storage.snapshot() is not first
    assert first["a"] == "1"


def test_a_transaction_reads_and_writes_under_the_lock(storage: Storage) -> None:
    storage.set_item("n", "0")

    def bump() -> None:
        for _ in range(50):
            with storage.locked() as txn:
                n = int(txn.read()["n"])
                txn.write({"n": str(n + 1)})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.get_item("n") == "200"


def test_the_async_lock_excludes_threads_and_tasks_alike(storage: Storage) -> None:
    storage.set_item("n", "0")

    async def bump_async() -> None:
        for _ in range(20):
            async with storage.alocked() as txn:
                n = int(txn.read()["n"])
                await asyncio.sleep(0)
                txn.write({"n": str(n + 1)})

    def bump_sync() -> None:
        for _ in range(20):
            with storage.locked() as txn:
                txn.write({"n": str(int(txn.read()["n"]) + 1)})

    async def main() -> None:
        thread = threading.Thread(target=bump_sync)
        thread.start()
        await asyncio.gather(*(bump_async() for _ in range(5)))
        thread.join()

    asyncio.run(main())
    assert storage.get_item("n") == "120"


def test_the_default_path_follows_xdg_config_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere/config")
    assert default_session_path() == Path("/somewhere/config/cognito-gate/session.json")
    assert FileStorage().path == Path("/somewhere/config/cognito-gate/session.json")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_session_path() == Path.home() / ".config/cognito-gate/session.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    assert default_session_path() == Path.home() / ".config/cognito-gate/session.json"


def test_the_file_is_one_json_object_of_strings_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "session.json"
    storage = FileStorage(path)
    storage.update({"CognitoIdentityServiceProvider.c.LastAuthUser": "demo", "x": "1"})
    assert json.loads(path.read_text()) == {
        "CognitoIdentityServiceProvider.c.LastAuthUser": "demo",
        "x": "1",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (tmp_path / "deep" / "dir" / "session.json.lock").exists()


def test_a_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    storage = FileStorage(path)
    storage.set_item("a", "1")
    inode = path.stat().st_ino
    reader = open(path)  # noqa: SIM115 - held open across the write on purpose
    storage.set_item("a", "2")
    assert path.stat().st_ino != inode  # a new file was renamed into place
    assert json.loads(reader.read()) == {"a": "1"}  # an open reader still sees a whole old file
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json", "session.json.lock"]


def test_a_group_or_world_readable_file_becomes_0600_at_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text("{}")
    path.chmod(0o644)
    FileStorage(path).set_item("a", "1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reads_see_a_change_another_writer_made(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    mine, theirs = FileStorage(path), FileStorage(path)
    mine.set_item("a", "1")
    assert theirs.get_item("a") == "1"
    mine.set_item("a", "2")
    assert theirs.get_item("a") == "2"


def test_reads_see_a_file_edited_in_place(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    storage = FileStorage(path)
    storage.set_item("a", "1")
    assert storage.get_item("a") == "1"
    with open(path, "w") as f:  # an editor saving in place: same inode, new size and mtime
        f.write('{"a": "changed"}')
    assert storage.get_item("a") == "changed"


def test_reads_are_cached_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.json"
    storage = FileStorage(path)
    storage.set_item("a", "1")
    opened: list[Any] = []
    real_open = os.open

    def counting_open(*args: Any, **kwargs: Any) -> int:
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    for _ in range(10):
        assert storage.get_item("a") == "1"
    assert opened == []
    FileStorage(path).set_item("a", "2")
    assert storage.get_item("a") == "2"


def test_a_file_that_went_away_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    storage = FileStorage(path)
    storage.set_item("a", "1")
    path.unlink()
    assert storage.items() == {}


def test_a_corrupt_file_is_a_storage_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text("{not json")
    with pytest.raises(StorageError, match=r"session\.json is not valid JSON"):
        FileStorage(path).get_item("a")
    path.write_text("[1, 2]")
    with pytest.raises(StorageError, match="one JSON object"):
        FileStorage(path).get_item("a")


def test_values_that_are_not_strings_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text('{"a": "1", "b": 2, "c": null}')
    assert FileStorage(path).items() == {"a": "1"}


def test_a_path_that_cannot_be_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    with pytest.raises(StorageError, match="cannot create"):
        FileStorage(tmp_path / "plain-file" / "session.json").set_item("a", "1")


def test_the_keyring_keeps_the_session_as_one_secret(
    memory_keyring: DictKeyring, tmp_path: Path
) -> None:
    storage = KeyringStorage("work", lock_path=tmp_path / "k.lock")
    storage.update({"a": "1", "b": "2"})
    assert json.loads(memory_keyring.secrets[("cognito-gate", "work")]) == {"a": "1", "b": "2"}
    assert KeyringStorage("work", lock_path=tmp_path / "k.lock").get_item("b") == "2"
    storage.clear()
    assert memory_keyring.secrets == {}


def test_without_the_keyring_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(StorageError, match=r"pip install 'cognito-gate\[keyring\]'"):
        KeyringStorage()
