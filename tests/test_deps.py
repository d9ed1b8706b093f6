"""The one dependency list: environment.yml and the Dockerfile must not drift from pyproject.toml."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import deps  # noqa: E402


def test_environment_and_dockerfile_agree_with_pyproject():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "deps.py"), "check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_pinned_requirement_appears_in_both_files():
    d = deps.load()
    env = (ROOT / "environment.yml").read_text()
    docker = (ROOT / "Dockerfile").read_text()
    for req in d["deps"]:
        assert f"- {req}\n" in env, req
        assert f'"{req}"' in docker, req
    for req in d["cpu"]:
        assert f"- {req}\n" in env  # the CPU wheel in the conda env; the container keeps its own TF
        assert req not in docker
    for req in d["no_deps"]:
        assert req in docker and req in env


def test_drift_is_detected(tmp_path, monkeypatch):
    d = deps.load()
    drifted = deps.environment_yml(d).replace(d["deps"][0], d["deps"][0] + ".1")
    assert drifted != deps.environment_yml(d)
    monkeypatch.setattr(deps, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "environment.yml").write_text(drifted)
    (tmp_path / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    assert deps.main(["deps.py", "check"]) == 1


def test_docker_base_has_tensorflow_2_14_comment():
    text = (ROOT / "Dockerfile").read_text()
    assert text.splitlines()[[l.startswith("FROM ") for l in text.splitlines()].index(True)] == \
        "FROM " + deps.load()["docker_base"]
    assert "2.14" in text and "TF_DETERMINISTIC_OPS=1" in text


def test_installed_stack_matches_the_pins():
    from importlib.metadata import version

    import numpy
    import tensorflow as tf

    assert numpy.__version__ == "1.26.4"
    assert tf.__version__.startswith("2.14.")
    assert version("innvestigate") == "2.1.2"
    assert version("jupyter-book").startswith("1.")
