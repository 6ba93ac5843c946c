"""Registries by name. The pool's ``registries[].type`` comes from here."""

REGISTRIES: dict[str, str] = {
    "static": "runner.registries.static:StaticRegistry",
    "env": "runner.registries.env:EnvRegistry",
    "direct": "runner.registries.direct:DirectRegistry",
    "etcd": "runner.registries.etcd:EtcdRegistry",
}
