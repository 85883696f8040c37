"""Values round-trip losslessly; unsupported values and keys are refused."""

import math

import pytest

import vaults


def roundtrips(v, open_vault, value):
    """Stores ``value`` and reads it back every way there is, on this handle
    and on a fresh one; returns the list of what came back."""
    v.put("k", value)
    v["k2"] = value
    w = open_vault(v.vault_name)
    got = [
        v.get("k"), v["k2"], w.get("k"), w["k2"],
        w.get_many(["k"])["k"], dict(w.items())["k"], dict(w.get_all_items())["k2"],
    ]
    assert len(w.values()) == 2
    got.extend(w.values())
    return got


def same(a, b):
    """Equality that also compares types, nan and the sign of zero, recursively."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        for k, x in a.items():
            matches = [bk for bk in b if same(bk, k)]
            if len(matches) != 1 or not same(x, b[matches[0]]):
                return False
        return True
    return a == b


def as_stored(value):
    """What the vault gives back: tuples become lists (not as dict keys), bytes-likes become bytes."""
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [as_stored(x) for x in value]
    if isinstance(value, dict):
        return {as_key(k): as_stored(x) for k, x in value.items()}
    return value


def as_key(k):
    if isinstance(k, tuple):
        return tuple(as_key(x) for x in k)
    return as_stored(k)


DROP_IN_VALUES = [
    True, False, 0, 1, -1, 255, 2**31, 2**63 - 1, -(2**63), 2**64 - 1,
    0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, float("inf"), float("-inf"), 1.0,
    "", "hello", "привет", "👋 emoji", "a\x00b", "\u2028 line sep", "x" * 100_000,
    b"", b"\x00\x01\xff", bytes(range(256)), bytearray(b"abc"),
    [], [1, "two", 3.0, None, True, b"b"], (1, 2, 3), ((1, 2), [3, (4,)]),
    {}, {"a": 1}, {"nested": {"deeper": [1, {"x": None}]}}, {b"bk": 1, "sk": 2},
]

NEW_VALUES = [
    2**64, -(2**64), -(2**63) - 1, 2**200, -(2**200), 10**50,
    {1: "one", -2: "minus two", 2**70: "big"},
    {(1, "a"): "tuple key", (2, (3, b"x")): [1]},
    {1.5: "float key", True: "bool key", None: "none key"},
    memoryview(b"mem"),
]


@pytest.mark.parametrize("value", DROP_IN_VALUES, ids=lambda x: type(x).__name__ + ":" + repr(x)[:20])
def test_value_roundtrips(v, open_vault, value):
    expected = as_stored(value)
    for got in roundtrips(v, open_vault, value):
        assert same(got, expected), (got, expected)


@pytest.mark.new
@pytest.mark.parametrize("value", NEW_VALUES, ids=lambda x: type(x).__name__ + ":" + repr(x)[:20])
def test_value_roundtrips_beyond_the_original(v, open_vault, value):
    expected = as_stored(value)
    for got in roundtrips(v, open_vault, value):
        assert same(got, expected), (got, expected)


def test_nan_roundtrips(v, open_vault):
    for got in roundtrips(v, open_vault, float("nan")):
        assert isinstance(got, float) and math.isnan(got)


def test_none_roundtrips(v, open_vault):
    v.put("n", None)
    w = open_vault(v.vault_name)
    assert w.get_many(["n"]) == {"n": None}
    assert w.items() == [("n", None)]
    assert w.values() == [None]
    assert "n" in w


def test_bool_stays_bool_and_int_stays_int(v):
    v.put_many({"t": True, "one": 1, "f": False, "zero": 0, "fl": 1.0})
    assert v.get("t") is True
    assert v.get("f") is False
    assert type(v.get("one")) is int
    assert type(v.get("zero")) is int
    assert type(v.get("fl")) is float


def test_tuple_comes_back_as_a_list(v):
    v["t"] = (1, (2, 3), [4, (5,)])
    assert v["t"] == [1, [2, 3], [4, [5]]]
    assert type(v["t"]) is list


@pytest.mark.new
def test_tuple_dict_keys_come_back_as_tuples(v):
    v["d"] = {(1, 2): "a", ("x", (3, 4)): "b"}
    got = v["d"]
    assert got == {(1, 2): "a", ("x", (3, 4)): "b"}
    assert all(type(k) is tuple for k in got)
    assert type(next(k for k in got if k[0] == "x")[1]) is tuple


def nest(depth):
    value = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_deep_nesting_roundtrips(v, open_vault):
    value = nest(100)
    for got in roundtrips(v, open_vault, value):
        assert got == value


def test_a_realistic_record_roundtrips(v, open_vault):
    repo = {
        "url": "https://github.com/user/repo",
        "name": "myrepo",
        "instructions": ["{default_venv} main.py"],
        "PID": None,
        "status": "stopped",
        "ports": [8501, 5000],
        "env": {"DEBUG": "1", "TOKEN": b"\x00secret"},
        "weights": [0.25, 0.75],
    }
    for got in roundtrips(v, open_vault, repo):
        assert same(got, repo)


@pytest.mark.new
@pytest.mark.parametrize("depth", [200, 5_000])
def test_too_deep_nesting_raises_invalid_input(v, depth):
    with pytest.raises(vaults.InvalidInput):
        v.put("deep", nest(depth))
    assert "deep" not in v
    assert len(v) == 0


@pytest.mark.new
def test_a_self_referencing_value_raises_and_does_not_hang(v):
    loop = []
    loop.append(loop)
    with pytest.raises((vaults.InvalidInput, TypeError, ValueError)):
        v.put("loop", loop)
    assert "loop" not in v


class Plain:
    pass


UNSUPPORTED = [
    {1, 2, 3}, frozenset({1}), object(), 1 + 2j, Plain(), Plain, len, range(3),
    [1, {2}], {"a": [object()]}, {frozenset(): 1},
]


@pytest.mark.new
@pytest.mark.parametrize("bad", UNSUPPORTED, ids=lambda x: type(x).__name__)
def test_unsupported_value_raises_type_error(v, bad):
    with pytest.raises(TypeError):
        v.put("k", bad)
    with pytest.raises(TypeError):
        v["k"] = bad
    with pytest.raises(TypeError):
        v.put_many({"k": bad})
    with pytest.raises(TypeError):
        v.setdefault("k", bad)
    assert "k" not in v
    assert len(v) == 0


@pytest.mark.new
@pytest.mark.parametrize(
    "bad, type_name",
    [({1, 2}, "set"), (object(), "object"), (1j, "complex"), (Plain(), "Plain")],
)
def test_type_error_names_the_type(v, bad, type_name):
    with pytest.raises(TypeError) as e:
        v.put("k", bad)
    assert type_name in str(e.value)


@pytest.mark.new
@pytest.mark.parametrize("key", [1, 1.5, b"k", ("t",), None, True, ["l"]], ids=repr)
def test_non_str_key_raises_type_error(v, key):
    v["real"] = 1
    with pytest.raises(TypeError):
        v.put(key, 1)
    with pytest.raises(TypeError):
        v[key] = 1
    with pytest.raises(TypeError):
        v.update([("ok", 1), (key, 2)])
    if not isinstance(key, list):
        with pytest.raises(TypeError):
            v.put_many({"ok": 1, key: 2})
    with pytest.raises(TypeError):
        v.get(key)
    with pytest.raises(TypeError):
        v[key]
    with pytest.raises(TypeError):
        del v[key]
    with pytest.raises(TypeError):
        v.pop(key)
    with pytest.raises(TypeError):
        v.setdefault(key, 1)
    assert sorted(v.keys()) == ["real"]


@pytest.mark.new
def test_str_subclass_key_is_a_str(v):
    class Name(str):
        pass

    v[Name("abc")] = 1
    assert v["abc"] == 1
    assert type(v.keys()[0]) is str


@pytest.mark.new
@pytest.mark.parametrize("name", ["", "a" * 100_000, "a\nb", "nul\x00", "esc\x1b[31m", "del\x7f"], ids=repr)
def test_refused_names_raise_invalid_input(v, name):
    with pytest.raises(vaults.InvalidInput):
        v.put(name, 1)
    with pytest.raises(vaults.InvalidInput):
        v[name] = 1
    with pytest.raises(vaults.InvalidInput):
        v.put_many({"ok": 1, name: 1})
    assert len(v) == 0


@pytest.mark.new
def test_long_and_unicode_names_are_accepted(v, open_vault):
    names = ["k" * 1000, "ключ", "🔑 key", "a/b\\c", "with space", "'quote\"", "%s{}"]
    for n in names:
        v[n] = n
    w = open_vault(v.vault_name)
    assert sorted(w.keys()) == sorted(names)
    for n in names:
        assert w[n] == n


# The spec's limit on an encoded value (vaults.MAX_VALUE_LEN, checked in test_module).
LIMIT = 64 * 1024 * 1024


@pytest.mark.new
def test_huge_value_raises_invalid_input(v):
    with pytest.raises(vaults.InvalidInput):
        v.put("huge", b"\x00" * (LIMIT + 1))
    with pytest.raises(vaults.InvalidInput):
        v["huge"] = "x" * (LIMIT + 1)
    with pytest.raises(ValueError):
        v.put_many({"small": 1, "huge": [b"\x00" * (LIMIT // 2)] * 3})
    assert "huge" not in v
    assert len(v) == 0


@pytest.mark.new
def test_a_large_value_under_the_limit_roundtrips(v, open_vault):
    big = bytes(range(256)) * (17 * 4096)  # 17 MiB
    v["big"] = big
    assert open_vault(v.vault_name)["big"] == big
