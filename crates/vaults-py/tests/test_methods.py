"""Every method and dunder of the original interface, on Vault and EncryptedVault."""

import os

import pytest

import vaults


def reopen(v, open_vault):
    """A second, independent handle on the same file: what it sees is on disk."""
    return open_vault(v.vault_name)


# -- opening ------------------------------------------------------------------


def test_missing_vault_with_to_create_false_raises(open_vault, root):
    with pytest.raises(vaults.VaultError):
        open_vault("nope", to_create=False)
    assert not os.path.exists(os.path.join(str(root), "nope.db"))


def test_existing_vault_opens_with_to_create_false(open_vault):
    first = open_vault("there")
    first["k"] = "v"
    second = open_vault("there", to_create=False)
    assert second["k"] == "v"


def test_data_persists_across_handles(v, open_vault):
    v["a"] = 1
    v.put("b", [1, 2])
    w = reopen(v, open_vault)
    assert w["a"] == 1
    assert w.get("b") == [1, 2]
    w["c"] = "from w"
    assert v["c"] == "from w"


# -- put / get ----------------------------------------------------------------


def test_put_and_get(v):
    v.put("k", "value")
    assert v.get("k") == "value"
    v.put("k", "replaced")
    assert v.get("k") == "replaced"
    assert len(v) == 1


def test_get_missing_returns_default(v):
    assert v.get("missing") is None
    assert v.get("missing", "dflt") == "dflt"
    sentinel = object()
    assert v.get("missing", sentinel) is sentinel


def test_get_of_a_stored_none_returns_the_default(v):
    v.put("none", None)
    assert v.get("none") is None
    assert v.get("none", "dflt") == "dflt"
    assert "none" in v


@pytest.mark.parametrize("falsy", [0, 0.0, False, "", b"", [], {}])
def test_get_returns_falsy_values_not_the_default(v, falsy):
    v.put("f", falsy)
    got = v.get("f", "dflt")
    assert got == falsy
    assert type(got) is type(falsy)


# -- pop / popitem --------------------------------------------------------------


def test_pop_removes_and_returns(v):
    v["k"] = {"x": 1}
    assert v.pop("k") == {"x": 1}
    assert "k" not in v
    assert v.pop("k") is None


@pytest.mark.new
def test_pop_missing_returns_the_default(v):
    assert v.pop("missing", "dflt") == "dflt"
    v["k"] = 5
    assert v.pop("k", "dflt") == 5
    assert v.pop("k", "dflt") == "dflt"


def test_popitem_returns_a_pair_and_removes_it(v):
    data = {"a": 1, "b": 2, "c": 3}
    v.put_many(data)
    seen = {}
    for _ in range(3):
        item = v.popitem()
        assert isinstance(item, tuple) and len(item) == 2
        k, val = item
        assert data[k] == val
        assert k not in v
        seen[k] = val
    assert seen == data
    assert len(v) == 0


def test_popitem_on_empty_raises_vault_error(v):
    with pytest.raises(vaults.VaultError):
        v.popitem()
    v["x"] = 1
    v.popitem()
    with pytest.raises(vaults.VaultError):
        v.popitem()


# -- bulk ---------------------------------------------------------------------------


def test_put_many_returns_the_count_and_stores_all(v, open_vault):
    data = {f"k{i}": {"i": i, "s": str(i)} for i in range(250)}
    assert v.put_many(data) == 250
    w = reopen(v, open_vault)
    assert len(w) == 250
    assert w.get_many(list(data)) == data


def test_put_many_empty_returns_zero(v):
    assert v.put_many({}) == 0
    assert len(v) == 0


def test_put_many_replaces_existing(v):
    v["a"] = "old"
    assert v.put_many({"a": "new", "b": "b"}) == 2
    assert v["a"] == "new"
    assert len(v) == 2


def test_get_many_returns_only_present_keys(v):
    v.put_many({"a": 1, "b": 2, "c": 3})
    assert v.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}
    assert v.get_many(["missing"]) == {}
    assert v.get_many([]) == {}


def test_get_many_includes_a_stored_none(v):
    v.put_many({"n": None, "a": 1})
    assert v.get_many(["n", "a", "x"]) == {"n": None, "a": 1}


def test_pop_many_removes_and_returns_present(v):
    v.put_many({"a": 1, "b": 2, "c": 3})
    assert v.pop_many(["a", "c", "missing"]) == {"a": 1, "c": 3}
    assert sorted(v.keys()) == ["b"]
    assert v.pop_many(["a"]) == {}
    assert v.pop_many([]) == {}
    assert len(v) == 1


def test_has_keys(v):
    v.put_many({"a": 1, "b": None})
    assert v.has_keys(["a", "b"]) is True
    assert v.has_keys(["a"]) is True
    assert v.has_keys(["a", "c"]) is False
    assert v.has_keys(["c"]) is False
    assert v.has_keys([]) is True


@pytest.mark.new
def test_has_keys_with_a_duplicate_key(v):
    # Deliberate difference: the original compared a row count with
    # len(keys) and returned False here.
    v.put_many({"a": 1, "b": 2})
    assert v.has_keys(["a", "a"]) is True
    assert v.has_keys(["a", "b", "a"]) is True
    assert v.has_keys(["a", "c", "a"]) is False


# -- listing ------------------------------------------------------------------------


def test_listing_methods(v):
    data = {"a": 1, "b": [2], "c": {"d": 3}, "n": None}
    v.put_many(data)
    assert sorted(v.list_keys()) == sorted(data)
    assert sorted(v.keys()) == sorted(data)
    assert isinstance(v.keys(), list)
    assert isinstance(v.list_keys(), list)
    assert sorted(iter(v)) == sorted(data)
    assert sorted(k for k in v) == sorted(data)
    items = v.items()
    assert isinstance(items, list)
    assert all(isinstance(t, tuple) and len(t) == 2 for t in items)
    assert dict(items) == data
    assert len(items) == len(data)
    all_items = v.get_all_items()
    assert isinstance(all_items, list)
    assert all(isinstance(t, tuple) for t in all_items)
    assert dict(all_items) == data
    values = v.values()
    assert isinstance(values, list)
    assert len(values) == len(data)
    for val in data.values():
        assert val in values


def test_listing_an_empty_vault(v):
    assert v.list_keys() == []
    assert v.keys() == []
    assert v.values() == []
    assert v.items() == []
    assert v.get_all_items() == []
    assert list(v) == []


# -- update / setdefault / clear ----------------------------------------------------------


def test_update_from_a_dict(v):
    v["a"] = "old"
    v.update({"a": 1, "b": 2})
    assert dict(v.items()) == {"a": 1, "b": 2}


@pytest.mark.new
def test_update_from_pairs_and_kwargs(v):
    v.update([("a", 1), ("b", 2)])
    v.update(c=3, d=[4])
    v.update({"e": 5}, f=6)
    assert dict(v.items()) == {"a": 1, "b": 2, "c": 3, "d": [4], "e": 5, "f": 6}


@pytest.mark.new
def test_update_is_one_transaction(v):
    # A bad value anywhere in the batch: nothing of the batch is stored.
    v["keep"] = "me"
    with pytest.raises(TypeError):
        v.update({"a": 1, "b": {1, 2}, "c": 3})
    assert dict(v.items()) == {"keep": "me"}
    with pytest.raises(TypeError):
        v.put_many({"a": 1, "b": object()})
    assert dict(v.items()) == {"keep": "me"}


def test_setdefault(v):
    assert v.setdefault("new", "dflt") == "dflt"
    assert v["new"] == "dflt"
    assert v.setdefault("new", "other") == "dflt"
    v["zero"] = 0
    assert v.setdefault("zero", 9) == 0
    assert v.setdefault("n") is None
    assert "n" in v


def test_setdefault_keeps_a_stored_none(v):
    v["n"] = None
    assert v.setdefault("n", "dflt") is None
    assert v.get_many(["n"]) == {"n": None}


def test_clear(v, open_vault):
    v.put_many({f"k{i}": i for i in range(20)})
    v.clear()
    assert len(v) == 0
    assert v.keys() == []
    assert len(reopen(v, open_vault)) == 0
    v["after"] = 1
    assert v.keys() == ["after"]


# -- dunders ----------------------------------------------------------------------------------


def test_getitem_setitem(v):
    v["k"] = [1, 2, 3]
    assert v["k"] == [1, 2, 3]
    v["k"] = "x"
    assert v["k"] == "x"


def test_getitem_missing_raises_key_error_with_the_key(v):
    with pytest.raises(KeyError) as e:
        v["missing"]
    assert e.value.args == ("missing",)


def test_getitem_of_a_stored_none_raises_key_error(v):
    v["n"] = None
    with pytest.raises(KeyError):
        v["n"]


def test_delitem(v):
    v["k"] = 1
    v["other"] = 2
    del v["k"]
    assert "k" not in v
    assert v["other"] == 2
    with pytest.raises(KeyError) as e:
        del v["k"]
    assert e.value.args == ("k",)


def test_contains(v):
    v["a"] = 1
    v["n"] = None
    assert "a" in v
    assert "n" in v
    assert "b" not in v


def test_contains_with_a_non_str_key_is_false(v):
    v["1"] = 1
    assert 1 not in v
    assert b"1" not in v
    assert None not in v


def test_len_and_bool(v):
    assert len(v) == 0
    assert not v
    assert bool(v) is False
    v["a"] = 1
    assert len(v) == 1
    assert bool(v) is True
    v["b"] = None
    assert len(v) == 2
    del v["a"]
    del v["b"]
    assert bool(v) is False


def test_repr(v, class_name):
    assert repr(v) == f"{class_name}('t', 0 items)"
    v.put_many({"a": 1, "b": 2, "c": 3})
    assert repr(v) == f"{class_name}('t', 3 items)"


def test_with_returns_self_and_does_not_close(v):
    with v as w:
        assert w is v
        w["a"] = 1
    assert v["a"] == 1
    v["b"] = 2
    assert v["b"] == 2


def test_with_does_not_swallow_exceptions(v):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with v:
            v["a"] = 1
            raise Boom()
    # Not a transaction: what was written before the exception stays.
    assert v["a"] == 1


def test_delete_vault_removes_the_file(v, root, open_vault):
    v["k"] = "v"
    path = v.db_path
    assert os.path.exists(path)
    v.delete_vault()
    assert not os.path.exists(path)
    assert not os.path.exists(path + "-wal")
    assert not os.path.exists(path + "-shm")
    with pytest.raises(vaults.VaultError):
        open_vault("t", to_create=False)
    fresh = open_vault("t")
    assert len(fresh) == 0
