"""Agent protocols: the wire contract (``wire``, ``agent.proto``), the agent server
(``service``, ``http_server``, ``grpc_server``, ``serve``) and the clients (``client``,
``http_client``, ``grpc_client``). See docs/protocol.md.

grpc is imported only by the gRPC modules. Before it loads, its C-core fork handlers are
turned off: runner never uses gRPC in a forked child, and with gRPC threads busy those
handlers crash a child of a plain ``fork()`` (SIGSEGV) — runner spawns vfork-style, a
program embedding it may not (docs/protocol.md). (Set here so that it holds whichever
protocol module loads first.)
"""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
