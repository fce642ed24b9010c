"""common.metricsdir: where each process group's metrics files go when nothing is configured."""

import os
import subprocess
import sys

from common.metricsdir import deployment_key, metrics_directories, stale_groups_remove


def test_one_deployment_one_root_and_two_deployments_never_mix():
    a = deployment_key(database="postgres://db/a", queue="q")
    assert a == deployment_key(database="postgres://db/a", queue="q")
    assert a != deployment_key(database="postgres://db/b", queue="q")
    assert a != deployment_key(database="postgres://db/a", queue="r")


def test_the_group_directory_is_derived_under_the_root_and_set_for_prometheus_client(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICS_MULTIPROC_ROOT", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    root, own = metrics_directories(database="postgres://db/a", queue="q")
    assert root == str(tmp_path)
    assert own == str(tmp_path / f"{os.uname().nodename}-pg{os.getpgrp()}")
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == own
    assert (tmp_path / own).is_dir()


def test_a_pinned_directory_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICS_MULTIPROC_ROOT", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "web"))
    assert metrics_directories(database="x", queue="q") == (str(tmp_path), str(tmp_path / "web"))


def test_only_dead_groups_of_this_host_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    dead.wait()
    host = os.uname().nodename
    for name in (f"{host}-pg{dead.pid}", f"{host}-pg{os.getpgrp()}", f"other-host-pg{dead.pid}", "web"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "counter_1.db").write_bytes(b"")
    keep = str(tmp_path / f"{host}-pg{os.getpgrp()}")
    assert stale_groups_remove(str(tmp_path), host=host, keep=keep) == [str(tmp_path / f"{host}-pg{dead.pid}")]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"{host}-pg{os.getpgrp()}", f"other-host-pg{dead.pid}", "web"]
    )
