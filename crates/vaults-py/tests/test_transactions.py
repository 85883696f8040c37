"""transaction(): commit on success, roll back on an exception, one at a time."""

import threading
import time

import pytest

import vaults

pytestmark = pytest.mark.new


class Boom(Exception):
    pass


def test_commit_on_success(v, open_vault):
    with v.transaction() as t:
        assert t is v
        v["a"] = 1
        v.put("b", [2])
        v.put_many({"c": 3, "d": 4})
        assert v["a"] == 1  # its own writes are visible inside
    w = open_vault(v.vault_name)
    assert dict(w.items()) == {"a": 1, "b": [2], "c": 3, "d": 4}


def test_rollback_on_exception(v, open_vault):
    v.put_many({"keep": "old", "gone": "still here", "other": 1})
    with pytest.raises(Boom):
        with v.transaction():
            v["new"] = "x"
            v["keep"] = "overwritten"
            del v["gone"]
            v.pop("other")
            v.put_many({"bulk1": 1, "bulk2": 2})
            raise Boom()
    expected = {"keep": "old", "gone": "still here", "other": 1}
    assert dict(v.items()) == expected
    assert dict(open_vault(v.vault_name).items()) == expected


def test_rollback_of_clear(v):
    v.put_many({f"k{i}": i for i in range(10)})
    with pytest.raises(Boom):
        with v.transaction():
            v.clear()
            assert len(v) == 0
            raise Boom()
    assert len(v) == 10


def test_rollback_of_expiry_changes(open_vault):
    clock = vaults.ManualClock(1_000_000.0)
    v = open_vault("tx", clock=clock)
    v.put("k", 1, ttl=10)
    v["p"] = 2
    with pytest.raises(Boom):
        with v.transaction():
            v.persist("k")
            v.expire("p", 1)
            raise Boom()
    assert v.ttl("k") == pytest.approx(10, abs=0.01)
    assert v.ttl("p") is None


def test_the_exception_propagates_unchanged(v):
    err = Boom("the message")
    with pytest.raises(Boom) as e:
        with v.transaction():
            v["a"] = 1
            raise err
    assert e.value is err


def test_a_key_error_inside_rolls_back(v):
    with pytest.raises(KeyError):
        with v.transaction():
            v["a"] = 1
            del v["missing"]
    assert "a" not in v


def test_nested_transaction_raises_vault_error(v):
    with pytest.raises(vaults.VaultError):
        with v.transaction():
            v["a"] = 1
            with v.transaction():
                v["b"] = 2
    # The error left the outer block, so it rolled back.
    assert "a" not in v
    assert "b" not in v


def test_nested_error_can_be_caught_and_the_outer_commits(v):
    with v.transaction():
        v["a"] = 1
        with pytest.raises(vaults.VaultError):
            with v.transaction():
                pass
        v["b"] = 2
    assert v["a"] == 1 and v["b"] == 2


def test_a_vault_is_usable_after_a_transaction(v):
    with pytest.raises(Boom):
        with v.transaction():
            raise Boom()
    with v.transaction():
        v["a"] = 1
    v["b"] = 2
    assert sorted(v.keys()) == ["a", "b"]


def test_another_thread_waits_for_the_transaction(v):
    inside = threading.Event()
    times = {}
    seen = {}
    errors = []

    def holder():
        try:
            with v.transaction():
                v["a"] = 1
                inside.set()
                time.sleep(0.5)
                v["b"] = 2
                times["end"] = time.monotonic()
        except BaseException as e:  # surfaced below
            errors.append(e)
            inside.set()

    def other():
        try:
            inside.wait(10)
            v["c"] = 3
            seen["b"] = v.get("b")
            times["other"] = time.monotonic()
        except BaseException as e:
            errors.append(e)

    t1 = threading.Thread(target=holder)
    t2 = threading.Thread(target=other)
    t1.start()
    t2.start()
    t1.join(30)
    t2.join(30)
    assert not errors, errors
    # The other thread's write completed only after the block had ended,
    # and then it saw the block's last write.
    assert times["other"] >= times["end"]
    assert seen["b"] == 2
    assert dict(v.items()) == {"a": 1, "b": 2, "c": 3}


def test_another_threads_write_is_not_rolled_back_with_the_block(v):
    inside = threading.Event()
    errors = []

    def holder():
        try:
            with v.transaction():
                v["mine"] = 1
                inside.set()
                time.sleep(0.3)
                raise Boom()
        except Boom:
            pass
        except BaseException as e:
            errors.append(e)
            inside.set()

    def other():
        try:
            inside.wait(10)
            v["theirs"] = 2
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=holder), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert dict(v.items()) == {"theirs": 2}


def test_transaction_on_a_closed_vault_raises(v):
    v.close()
    with pytest.raises(vaults.VaultClosed):
        with v.transaction():
            pass
