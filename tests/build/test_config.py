"""Image config and history strings formatted as BuildKit (Go) formats them."""

from __future__ import annotations

import json

from dockyard.plan.config import (
    Healthcheck,
    ImageConfig,
    go_duration,
    go_json,
    go_quote_list,
    history_expose,
    history_healthcheck,
)


def test_go_quote_list_is_fmt_q_of_a_string_slice() -> None:
    assert go_quote_list(["npm", "start"]) == '["npm" "start"]'
    assert go_quote_list(["/bin/sh", "-c", 'echo "hi"\n']) == '["/bin/sh" "-c" "echo \\"hi\\"\\n"]'


def test_expose_history_is_a_sorted_go_map() -> None:
    assert history_expose(["80/tcp", "443/udp"]) == "EXPOSE map[443/udp:{} 80/tcp:{}]"


def test_healthcheck_history_matches_buildkit() -> None:
    health = Healthcheck(("CMD-SHELL", "true"), interval_ns=300_000_000_000)
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


def test_config_json_in_buildkit_order_with_go_escaping() -> None:
    config = ImageConfig(
        user="app",
        exposed_ports=("443/udp", "80/tcp"),
        env=("PATH=/usr/bin", "A=<b>&"),
        cmd=("sh", "-c", "echo"),
        working_dir="/app",
        healthcheck=Healthcheck(("CMD-SHELL", "true"), interval_ns=300_000_000_000),
        args_escaped=True,
    )
    text = go_json(config.to_dict())
    assert text.startswith('{"User":"app","ExposedPorts":{"443/udp":{},"80/tcp":{}},"Env":')
    assert '"A=\\u003cb\\u003e\\u0026"' in text
    assert text.endswith('"ArgsEscaped":true,"OnBuild":null}')
    assert ImageConfig.from_dict(json.loads(text)) == config


def test_base_config_drops_unknown_fields() -> None:
    data = {"Hostname": "x", "Env": None, "Cmd": ["sh"], "OnBuild": None, "Image": "sha256:1"}
    config = ImageConfig.from_dict(data)
    assert config.to_dict() == {"Cmd": ["sh"], "OnBuild": None}
