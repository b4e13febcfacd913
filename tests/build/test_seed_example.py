"""The seed example (examples/simple-node) against a local node:21 stand-in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from images import node_debian_tarball  # noqa: F401 (fixture)

from .conftest import BuildEnv, steps
from .test_build_e2e import image_config, image_files

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "simple-node"


def test_seed_example_builds_and_edit_reuses_npm_layers(
    build_env: BuildEnv,
    node_debian_tarball: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    build_env.dockyard("import", str(node_debian_tarball), "node:21")
    app = tmp_path / "simple-node"
    shutil.copytree(EXAMPLE, app)
    first = steps(build_env.build(app, "-t", "seed:test").stderr)
    assert first["[4/6] RUN npm install"] == "DONE"
    assert first["[5/6] RUN npm install express"] == "DONE"
    files = image_files(build_env, "seed:test")
    assert "usr/src/app/node_modules/express/package.json" in files
    assert "usr/src/app/server.js" in files
    config = image_config(build_env, "seed:test")["config"]
    assert isinstance(config, dict)
    assert config["Cmd"] == ["npm", "start"]
    assert config["WorkingDir"] == "/usr/src/app"

    (app / "server.js").write_text((app / "server.js").read_text().replace("Hello", "Hi"))
    second = steps(build_env.build(app, "-t", "seed:test").stderr)
    assert second["[2/6] WORKDIR /usr/src/app"] == "CACHED"
    assert second["[3/6] COPY package*.json ./"] == "CACHED"
    assert second["[4/6] RUN npm install"] == "CACHED"
    assert second["[5/6] RUN npm install express"] == "CACHED"
    assert second["[6/6] COPY . ."] == "DONE"
    # node_modules in the context is ignored (.dockerignore): it never reaches the image.
    (app / "node_modules").mkdir()
    (app / "node_modules" / "junk").write_text("local")
    third = steps(build_env.build(app, "-t", "seed:test").stderr)
    assert set(third.values()) == {"DONE", "CACHED"}
    assert third["[6/6] COPY . ."] == "CACHED"
    assert "usr/src/app/node_modules/junk" not in image_files(build_env, "seed:test")
