"""Replay environments (``replay_env.py``) through the verifier's command line, with real kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from python_kernel_bridge.replay_env import prepare, requirement_lines

from .samples import session_sample


def verify(tmp_path, *args: str) -> subprocess.CompletedProcess:
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps(session_sample(["import sys\nprint(sys.version_info[0])"], tmp_path)))
    env = dict(os.environ, AIEV_ENV_CACHE=str(tmp_path / "envs"))
    command = [sys.executable, "-m", "python_kernel_bridge", "verify", "--jsonl", str(sample), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_python_alone_is_registered_as_a_private_kernel_and_said(tmp_path):
    done = verify(tmp_path, "--python", sys.executable)
    assert done.returncode == 0, done.stderr
    block = json.loads(done.stdout)["verification"]
    environment = block["replay"]["environment"]
    assert environment["kind"] == "python" and environment["executable"] == sys.executable
    assert block["replay"]["kernel_name"] == environment["kernel_name"].lower()
    assert environment["kernel_name"].startswith("aiev-")
    assert (tmp_path / "envs" / "kernels").is_dir()  # never in the user's own kernels folder


def test_without_options_the_verifier_environment_replays_and_says_so(tmp_path):
    done = verify(tmp_path)
    environment = json.loads(done.stdout)["verification"]["replay"]["environment"]
    assert environment == {
        "kind": "verifier", "kernel_name": None, "python": sys.version.split()[0], "executable": sys.executable,
    }


def test_a_requirements_file_uv_refuses_is_one_line_and_exit_2(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nthis is not a requirement !!\n")
    done = verify(tmp_path, "--requirements", str(requirements))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("verify: replay environment: uv pip install failed:"), done.stderr
    assert not [p for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")]  # nothing half-built kept


def test_the_package_set_is_what_is_hashed(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("six==1.16.0\n# comment\n\nattrs==23.1.0  # why\n")
    b.write_text("attrs==23.1.0\nsix==1.16.0\n")
    assert requirement_lines(str(a)) == requirement_lines(str(b)) == ["attrs==23.1.0", "six==1.16.0"]
    assert prepare(kernel="python3") == {"kind": "kernel", "kernel_name": "python3"}


def _other_python() -> str | None:
    """An interpreter of another Python minor version installed on this machine (pyenv's, the system's), or None."""
    import glob

    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))) + sorted(glob.glob("/usr/bin/python3.[0-9]*"))
    for path in candidates:
        done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True)
        version = done.stdout.strip()
        if done.returncode == 0 and version != mine and (3, 9) <= tuple(map(int, version.split("."))) <= (3, 13):
            return path
    return None


def test_a_recorded_python_version_installed_here_is_the_one_replayed_on(tmp_path):
    other = _other_python()
    if other is None:
        import pytest

        pytest.skip("no other Python version installed on this machine")
    version = subprocess.run([other, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True).stdout.strip()
    sample = session_sample(["import sys\nprint(sys.version_info[0])"], tmp_path)
    sample["environment"] = {**(sample.get("environment") or {}), "python": version, "packages_after": [{"name": "six", "version": "1.16.0"}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(sample))
    base = dict(os.environ, AIEV_ENV_CACHE=str(tmp_path / "envs"))
    command = [sys.executable, "-m", "python_kernel_bridge", "verify", "--jsonl", "--recorded-env", str(path)]
    # On PATH (where uv looks for interpreters), that version is found and the replay runs on it.
    found = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(base, PATH=f"{os.path.dirname(other)}:{base['PATH']}"))
    assert found.returncode == 0, found.stderr
    environment = json.loads(found.stdout)["verification"]["replay"]["environment"]
    assert (environment["kind"], environment["python"], environment["recorded_python"]) == ("recorded", version, version)
