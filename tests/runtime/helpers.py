"""Helpers for runtime tests: a busybox root file system, mount and process checks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


def make_busybox_rootfs(target: Path) -> Path:
    """A minimal root: static busybox, its applets as symlinks, /etc/passwd and /tmp."""
    (target / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, target / "bin" / "busybox")
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        link = target / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (target / "etc").mkdir()
    (target / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        "app:x:1000:1000:app:/home/app:/bin/sh\n"
    )
    (target / "etc" / "group").write_text(
        "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:1500:app\n"
    )
    (target / "tmp").mkdir(mode=0o1777)
    os.chmod(target / "tmp", 0o1777)
    (target / "root").mkdir(mode=0o700)
    return target


def mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mountinfo") as mountinfo:
        return [line.split()[4] for line in mountinfo if line.split()[4].startswith(prefix)]


def store_image(store_root: Path, name: str, rootfs: Path, **config: object) -> str:
    """Commits ``rootfs`` as a one-layer image named ``name``; returns the image id.

    ``config`` fields are ``ContainerConfig`` fields (env, cmd, entrypoint, user,
    working_dir, stop_signal, volumes, exposed_ports).
    """
    from dockyard.fs import write_layer
    from dockyard.oci.config import ContainerConfig, ImageConfig
    from dockyard.store import Store

    with Store.open(store_root) as store:
        with store.layer_writer() as writer:
            blob = write_layer(rootfs, writer.stream)
            layer = writer.commit(blob.diff_id)
        image_config = ImageConfig(config=ContainerConfig(**config))  # type: ignore[arg-type]
        image = store.commit_image(image_config, [layer], [name])
        return str(image.id)


def compile_static(source: str, output: Path) -> Path:
    """A static binary from C source (test servers a busybox image lacks)."""
    source_file = output.with_suffix(".c")
    source_file.write_text(source)
    subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(output), str(source_file)],
        check=True,
        capture_output=True,
    )
    return output


ECHO_SERVER_C = r"""
/* echo-server tcp|udp PORT: echoes every connection (a process each) or datagram. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int tcp = strcmp(argv[1], "tcp") == 0;
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[2]));
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    static char buffer[1 << 16];
    if (!tcp) {
        for (;;) {
            struct sockaddr_in peer;
            socklen_t length = sizeof peer;
            ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr *)&peer, &length);
            if (n >= 0) sendto(fd, buffer, n, 0, (struct sockaddr *)&peer, length);
        }
    }
    signal(SIGCHLD, SIG_IGN);
    listen(fd, 1024);
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client < 0) continue;
        if (fork() == 0) {
            ssize_t n;
            while ((n = read(client, buffer, sizeof buffer)) > 0) {
                for (ssize_t done = 0; done < n;) {
                    ssize_t written = write(client, buffer + done, n - done);
                    if (written <= 0) _exit(1);
                    done += written;
                }
            }
            _exit(0);
        }
        close(client);
    }
}
"""


def listener_probe() -> socket.socket:
    """A socket that binds where a server could listen: like every server (node,
    docker-proxy), with SO_REUSEADDR, so connections of earlier requests lingering in
    TIME_WAIT on the port do not count; only a socket still bound to it does."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return probe
