"""History strings formatted as BuildKit (Go) formats them.

The config JSON itself is ``oci.ContainerConfig``'s (tests/oci/test_config.py); the
bytes a build commits are checked whole in test_export.py.
"""

from __future__ import annotations

from dockyard.oci import ContainerConfig, Healthcheck
from dockyard.plan.config import (
    DEFAULT_SHELL,
    go_duration,
    go_quote_list,
    history_expose,
    history_healthcheck,
    run_shell,
)


def test_go_quote_list_is_fmt_q_of_a_string_slice() -> None:
    assert go_quote_list(["npm", "start"]) == '["npm" "start"]'
    assert go_quote_list(["/bin/sh", "-c", 'echo "hi"\n']) == '["/bin/sh" "-c" "echo \\"hi\\"\\n"]'


def test_expose_history_is_a_sorted_go_map() -> None:
    assert history_expose(["80/tcp", "443/udp"]) == "EXPOSE map[443/udp:{} 80/tcp:{}]"


def test_healthcheck_history_matches_buildkit() -> None:
    health = Healthcheck(("CMD-SHELL", "true"), interval=300_000_000_000)
    expected = 'HEALTHCHECK &{["CMD-SHELL" "true"] "5m0s" "0s" "0s" \'\\x00\'}'
    assert history_healthcheck(health) == expected
    assert "'\\x03'" in history_healthcheck(Healthcheck(("CMD", "x"), retries=3))


def test_go_durations() -> None:
    assert go_duration(0) == "0s"
    assert go_duration(30_000_000_000) == "30s"
    assert go_duration(90_000_000_000) == "1m30s"
    assert go_duration(3_600_000_000_000) == "1h0m0s"
    assert go_duration(1_500_000_000) == "1.5s"
    assert go_duration(5_000_000) == "5ms"


def test_run_shell_is_the_config_shell_or_sh() -> None:
    assert run_shell(ContainerConfig()) == DEFAULT_SHELL
    assert run_shell(ContainerConfig(shell=("/bin/bash", "-c"))) == ("/bin/bash", "-c")
