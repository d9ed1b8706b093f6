"""Parameter keys, atomic writes and the artifact store."""

import numpy as np
import pytest

from rbdm_core.artifacts import Store, atomic_path, atomic_save_npz, param_key


def test_param_key_is_order_independent_and_content_sensitive():
    a = {"x": 1, "y": [1, 2], "z": {"b": 2, "a": 1}}
    b = {"z": {"a": 1, "b": 2}, "y": [1, 2], "x": 1}
    assert param_key(a) == param_key(b)
    assert param_key(a) != param_key({**a, "x": 2})
    arr = np.arange(6)
    assert param_key({"m": arr}) == param_key({"m": arr.copy()})
    arr2 = arr.copy()
    arr2[3] = 99
    assert param_key({"m": arr}) != param_key({"m": arr2})
    assert len(param_key(a)) == 16


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and len(list(tmp_path.iterdir())) == 1


def test_store_computes_once_and_separates_parameters(tmp_path):
    store = Store(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3)}

    first = store.cached_arrays("k", {"p": 1}, compute)
    again = store.cached_arrays("k", {"p": 1}, compute)
    other = store.cached_arrays("k", {"p": 2}, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(first["a"], again["a"])
    np.testing.assert_array_equal(first["a"], other["a"])
    assert (tmp_path / "k" / param_key({"p": 1}) / "params.json").exists()
    assert store.dir("k", {"p": 1}) != store.dir("k", {"p": 2})


def test_atomic_files_get_the_mode_open_gives(tmp_path):
    # a file written through atomic_path has the mode a plain open() would give it (0666 & ~umask),
    # not mkstemp's private 0600
    from rbdm_core.artifacts import atomic_write_text

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_text(tmp_path / "atomic.txt", "x")
    assert (tmp_path / "atomic.txt").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_atomic_save_npz_roundtrip(tmp_path):
    p = atomic_save_npz(tmp_path / "x.npz", a=np.ones((2, 2)))
    with np.load(p) as z:
        assert z["a"].sum() == 4
