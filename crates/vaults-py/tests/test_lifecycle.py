"""close() and delete_vault(): every later call raises VaultClosed."""

import os

import pytest

import vaults

pytestmark = pytest.mark.new

CALLS = {
    "put": lambda v: v.put("k", 1),
    "put_ttl": lambda v: v.put("k", 1, ttl=5),
    "get": lambda v: v.get("k"),
    "pop": lambda v: v.pop("k"),
    "popitem": lambda v: v.popitem(),
    "put_many": lambda v: v.put_many({"k": 1}),
    "get_many": lambda v: v.get_many(["k"]),
    "pop_many": lambda v: v.pop_many(["k"]),
    "has_keys": lambda v: v.has_keys(["k"]),
    "list_keys": lambda v: v.list_keys(),
    "get_all_items": lambda v: v.get_all_items(),
    "keys": lambda v: v.keys(),
    "values": lambda v: v.values(),
    "items": lambda v: v.items(),
    "update": lambda v: v.update({"k": 1}),
    "setdefault": lambda v: v.setdefault("k", 1),
    "clear": lambda v: v.clear(),
    "getitem": lambda v: v["k"],
    "setitem": lambda v: v.__setitem__("k", 1),
    "delitem": lambda v: v.__delitem__("k"),
    "contains": lambda v: "k" in v,
    "len": lambda v: len(v),
    "iter": lambda v: list(iter(v)),
    "bool": lambda v: bool(v),
    "expire": lambda v: v.expire("k", 5),
    "ttl": lambda v: v.ttl("k"),
    "persist": lambda v: v.persist("k"),
    "get_ex": lambda v: v.get_ex("k", 5),
    "cleanup_expired": lambda v: v.cleanup_expired(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=list(CALLS))
def test_every_call_on_a_closed_vault_raises_vault_closed(v, call):
    v["k"] = 1
    v.close()
    with pytest.raises(vaults.VaultClosed):
        call(v)


@pytest.mark.parametrize("call", CALLS.values(), ids=list(CALLS))
def test_every_call_on_a_deleted_vault_raises_vault_closed(v, call):
    v["k"] = 1
    v.delete_vault()
    with pytest.raises(vaults.VaultClosed):
        call(v)
    assert not os.path.exists(v.db_path)


def test_close_is_idempotent_and_sets_closed(v):
    assert v.closed is False
    v.close()
    assert v.closed is True
    v.close()
    assert v.closed is True


def test_delete_vault_closes(v):
    v.delete_vault()
    assert v.closed is True


def test_closed_error_is_a_vault_error(v):
    v.close()
    with pytest.raises(vaults.VaultError):
        v.get("k")


def test_data_survives_close(v, open_vault):
    v.put_many({"a": 1, "b": [2, 3]})
    v.close()
    w = open_vault(v.vault_name, to_create=False)
    assert dict(w.items()) == {"a": 1, "b": [2, 3]}


def test_close_leaves_the_file_and_other_handles_alone(v, open_vault):
    v["a"] = 1
    other = open_vault(v.vault_name)
    v.close()
    assert os.path.exists(v.db_path)
    assert other["a"] == 1
    other["b"] = 2
    assert open_vault(v.vault_name)["b"] == 2


def test_delete_vault_removes_wal_and_shm(v, root):
    v.put_many({f"k{i}": i for i in range(100)})
    other_handle_files = sorted(os.listdir(root))
    assert "t.db" in other_handle_files
    v.delete_vault()
    assert [f for f in os.listdir(root) if f.startswith("t.db")] == []
