"""Expiry with a controllable clock (vaults.ManualClock)."""

import datetime

import pytest

import vaults

pytestmark = pytest.mark.new

START = 1_700_000_000.0


@pytest.fixture
def clock():
    return vaults.ManualClock(START)


@pytest.fixture
def cv(open_vault, clock):
    """A vault of the tested kind on the manual clock."""
    return open_vault("exp", clock=clock)


def test_put_with_ttl_seconds_expires(cv, clock):
    cv.put("k", "v", ttl=10)
    cv.put("forever", "f")
    clock.advance(9.9)
    assert cv.get("k") == "v"
    clock.advance(0.2)
    assert cv.get("k") is None
    assert cv.get("forever") == "f"


def test_put_with_ttl_timedelta_expires(cv, clock):
    cv.put("k", "v", ttl=datetime.timedelta(minutes=2))
    clock.advance(119)
    assert cv["k"] == "v"
    clock.advance(2)
    assert "k" not in cv


def test_manual_clock_advances_by_a_timedelta(cv, clock):
    cv.put("k", "v", ttl=120)
    clock.advance(datetime.timedelta(seconds=119))
    assert cv["k"] == "v"
    clock.advance(datetime.timedelta(seconds=2))
    assert "k" not in cv


def test_float_ttl(cv, clock):
    cv.put("k", 1, ttl=0.5)
    clock.advance(0.4)
    assert "k" in cv
    clock.advance(0.2)
    assert "k" not in cv


def test_put_without_ttl_removes_an_expiry(cv, clock):
    cv.put("k", 1, ttl=5)
    cv.put("k", 2)
    clock.advance(100)
    assert cv["k"] == 2
    assert cv.ttl("k") is None


def test_expired_entries_are_invisible_to_every_read(cv, clock):
    cv.put("gone", "secret", ttl=1)
    cv.put("gone_none", None, ttl=1)
    clock.advance(2)
    assert cv.get("gone") is None
    assert cv.get("gone", "dflt") == "dflt"
    with pytest.raises(KeyError):
        cv["gone"]
    assert "gone" not in cv
    assert "gone_none" not in cv
    assert len(cv) == 0
    assert not cv
    assert cv.keys() == []
    assert cv.list_keys() == []
    assert list(cv) == []
    assert cv.values() == []
    assert cv.items() == []
    assert cv.get_all_items() == []
    assert cv.get_many(["gone", "gone_none"]) == {}
    assert cv.has_keys(["gone"]) is False
    assert cv.pop_many(["gone"]) == {}
    assert cv.pop("gone", "dflt") == "dflt"
    assert cv.get_ex("gone", 10, "dflt") == "dflt"
    assert cv.expire("gone", 10) is False
    assert cv.persist("gone") is False
    with pytest.raises(KeyError):
        cv.ttl("gone")
    with pytest.raises(KeyError):
        del cv["gone"]
    with pytest.raises(vaults.VaultError):
        cv.popitem()
    assert repr(cv).endswith("'exp', 0 items)")
    # setdefault sees it as missing and stores the default.
    assert cv.setdefault("gone", "fresh") == "fresh"
    assert cv["gone"] == "fresh"
    assert cv.ttl("gone") is None


def test_expiry_is_stored_in_the_file(open_vault, clock):
    first = open_vault("exp", clock=clock)
    first.put("k", "v", ttl=10)
    first.close()
    again = open_vault("exp", clock=clock)
    clock.advance(5)
    assert again["k"] == "v"
    assert again.ttl("k") == pytest.approx(5, abs=0.01)
    clock.advance(6)
    assert "k" not in again


def test_ttl_reports_seconds_left(cv, clock):
    cv.put("k", 1, ttl=10)
    assert cv.ttl("k") == pytest.approx(10, abs=0.01)
    clock.advance(3.5)
    left = cv.ttl("k")
    assert isinstance(left, float)
    assert left == pytest.approx(6.5, abs=0.01)
    cv.put("never", 1)
    assert cv.ttl("never") is None
    with pytest.raises(KeyError):
        cv.ttl("missing")


def test_expire_sets_an_expiry(cv, clock):
    cv["k"] = "v"
    assert cv.expire("k", 5) is True
    assert cv.ttl("k") == pytest.approx(5, abs=0.01)
    assert cv.expire("missing", 5) is False
    assert "missing" not in cv
    clock.advance(4)
    assert cv.expire("k", datetime.timedelta(seconds=10)) is True
    clock.advance(9)
    assert cv["k"] == "v"
    clock.advance(2)
    assert "k" not in cv


def test_persist_removes_an_expiry(cv, clock):
    cv.put("k", "v", ttl=5)
    assert cv.persist("k") is True
    assert cv.ttl("k") is None
    assert cv.persist("k") is False
    clock.advance(1000)
    assert cv["k"] == "v"
    assert cv.persist("missing") is False


def test_get_ex_slides_the_expiry(cv, clock):
    cv.put("session", {"user": 1}, ttl=10)
    for _ in range(5):
        clock.advance(8)
        assert cv.get_ex("session", 10) == {"user": 1}
    # 40 seconds after the put, well past the first ttl, it is still there.
    assert cv.ttl("session") == pytest.approx(10, abs=0.01)
    clock.advance(10.5)
    assert cv.get_ex("session", 10) is None
    assert "session" not in cv


def test_get_ex_sets_an_expiry_on_a_persistent_entry(cv, clock):
    cv["k"] = "v"
    assert cv.get_ex("k", datetime.timedelta(seconds=3)) == "v"
    assert cv.ttl("k") == pytest.approx(3, abs=0.01)
    clock.advance(4)
    assert "k" not in cv


def test_get_ex_missing_returns_the_default(cv):
    assert cv.get_ex("missing", 10) is None
    assert cv.get_ex("missing", 10, "dflt") == "dflt"
    assert "missing" not in cv


def test_cleanup_expired_deletes_and_counts(cv, clock):
    cv.put_many({"keep1": 1, "keep2": 2})
    for i in range(3):
        cv.put(f"old{i}", i, ttl=10)
    cv.put("later", "l", ttl=100)
    clock.advance(11)
    assert cv.cleanup_expired() == 3
    assert cv.cleanup_expired() == 0
    assert sorted(cv.keys()) == ["keep1", "keep2", "later"]
    # Deleted for real: back in time, they do not come back.
    clock.set(START)
    assert sorted(cv.keys()) == ["keep1", "keep2", "later"]
    assert "old0" not in cv


def test_without_cleanup_an_expired_row_is_still_in_the_file(cv, clock):
    # The counterpart of the test above: it shows that clock.set() can reveal
    # a row that cleanup_expired() did not delete, so that test can fail.
    # (No read while it is expired: a read may delete it, and may not.)
    cv.put("old", 1, ttl=10)
    clock.advance(11)
    clock.set(START)
    assert cv["old"] == 1


@pytest.mark.parametrize("bad", [0, -1, -0.5, datetime.timedelta(0), datetime.timedelta(seconds=-5)], ids=repr)
def test_non_positive_ttl_raises_invalid_input(cv, bad):
    with pytest.raises(vaults.InvalidInput):
        cv.put("k", 1, ttl=bad)
    assert "k" not in cv


def test_ttl_on_put_many_entries_is_none(cv):
    cv.put_many({"a": 1})
    assert cv.ttl("a") is None


def test_manual_clock_default_start_is_now(open_vault):
    # Written on a ManualClock() that starts now, read on the real clock:
    # had it started anywhere else, the entry would be long expired or live for ages.
    manual = open_vault("now", clock=vaults.ManualClock())
    manual.put("k", 1, ttl=100)
    real = open_vault("now")
    assert real.ttl("k") == pytest.approx(100, abs=30)


def test_manual_clock_set_moves_to_an_absolute_time(cv, clock):
    cv.put("k", 1, ttl=50)
    clock.set(START + 49)
    assert "k" in cv
    clock.set(START + 51)
    assert "k" not in cv


def test_two_handles_share_a_clock_and_the_file(open_vault, clock):
    a = open_vault("shared", clock=clock)
    b = open_vault("shared", clock=clock)
    a.put("k", "v", ttl=10)
    assert b.ttl("k") == pytest.approx(10, abs=0.01)
    clock.advance(11)
    assert "k" not in b
    assert b.cleanup_expired() == 1
    assert a.cleanup_expired() == 0


def test_expiry_uses_the_real_clock_without_a_manual_one(open_vault):
    import time

    v = open_vault("real")
    v.put("k", 1, ttl=0.3)
    assert "k" in v
    time.sleep(0.5)
    assert "k" not in v
