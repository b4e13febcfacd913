"""Round trips: any config survives JSON; any grammatical reference survives printing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dockyard.digest import Digest
from dockyard.oci import ContainerConfig, Healthcheck, History, ImageConfig, ImageReference, RootFS

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
words = st.lists(text, max_size=4).map(tuple)
digests = st.binary(max_size=8).map(Digest.of_bytes)

configs = st.builds(
    ImageConfig,
    architecture=st.sampled_from(["amd64", "arm64"]),
    os=st.just("linux"),
    config=st.builds(
        ContainerConfig,
        user=text,
        exposed_ports=st.lists(st.sampled_from(["80/tcp", "53/udp", "8080/tcp"])).map(tuple),
        env=st.lists(
            st.builds(lambda k, v: f"{k}={v}", st.from_regex(r"[A-Z_]{1,5}", fullmatch=True), text)
        ).map(tuple),
        entrypoint=st.none() | st.lists(text, min_size=1, max_size=3).map(tuple),
        cmd=st.none() | st.lists(text, min_size=1, max_size=3).map(tuple),
        volumes=st.lists(st.sampled_from(["/data", "/var/log"])).map(tuple),
        working_dir=text,
        labels=st.dictionaries(text, text, max_size=3),
        stop_signal=text,
        args_escaped=st.booleans(),
        healthcheck=st.none()
        | st.builds(
            Healthcheck, test=st.lists(text, min_size=1).map(tuple), retries=st.integers(0, 5)
        ),
        on_build=st.none() | words,
        shell=st.none() | st.lists(text, min_size=1, max_size=2).map(tuple),
    ),
    rootfs=st.lists(digests, max_size=3).map(lambda d: RootFS(tuple(d))),
    history=st.lists(
        st.builds(History, created=text, created_by=text, comment=text, empty_layer=st.booleans()),
        max_size=3,
    ).map(tuple),
    created=text,
    author=text,
)


@given(configs)
def test_image_config_round_trips(config: ImageConfig) -> None:
    assert ImageConfig.from_json(config.to_json()) == config
    assert ImageConfig.from_json(config.to_json()).to_json() == config.to_json()


component = st.from_regex(r"[a-z0-9]{1,8}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,8}){0,3}", fullmatch=True)
domain = st.sampled_from(
    ["", "docker.io/", "localhost:5000/", "registry.example.com/", "127.0.0.1/"]
)
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(domain, st.lists(component, min_size=1, max_size=3), st.none() | tag)
def test_references_round_trip(host: str, path: list[str], maybe_tag: str | None) -> None:
    text = host + "/".join(path) + (f":{maybe_tag}" if maybe_tag else "")
    reference = ImageReference.parse_tagged(text)
    assert ImageReference.parse_tagged(str(reference)) == reference
    first = reference.familiar_name.split("/")[0]
    if "/" not in reference.familiar_name or not ("." in first or first == "localhost"):
        # Like Docker's: a Hub path whose first part looks like a host has no familiar form.
        assert ImageReference.parse_tagged(reference.familiar()) == reference
    assert reference.tag == (maybe_tag or "latest")
