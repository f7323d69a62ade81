"""The per-site costs removed for the sites benchmark (bench/sites.py), in unit form."""

from __future__ import annotations

from pathlib import Path

from jobyard.sites import connect
from jobyard.sites.batch import MAX_IN_PROCESS, run_concurrency


def test_in_process_worker_has_a_slot_per_job_up_to_the_cap() -> None:
    assert run_concurrency(1) == 4
    assert run_concurrency(100) == 100  # a parallel batch of 100 sites: one wave
    assert run_concurrency(10_000) == MAX_IN_PROCESS


def test_known_hosts_parsed_once_per_version_of_the_file(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(
        "[127.0.0.1]:2222 ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    first = connect.Target("a", "127.0.0.1", 2222, known_hosts=str(known)).options()
    second = connect.Target("b", "127.0.0.1", 2223, known_hosts=str(known)).options()
    assert first["known_hosts"] is second["known_hosts"]  # one parse for every site
    known.write_text(known.read_text() + known.read_text().replace("2222", "2224"))
    third = connect.Target("c", "127.0.0.1", 2224, known_hosts=str(known)).options()
    assert third["known_hosts"] is not first["known_hosts"]  # the file changed: read again
    missing = connect.Target("d", "127.0.0.1", known_hosts=str(tmp_path / "none")).options()
    assert missing["known_hosts"] == str(tmp_path / "none")  # asyncssh's own error, later
    assert connect.CIPHERS[0].startswith("aes128-gcm")
