"""SGLang-shaped test server (stdlib only). Importable as ``tests.peers.sglang_shaped``
or, with ``tests/peers`` on ``sys.path``, as ``sglang_shaped``.

Names are resolved lazily so ``python -m sglang_shaped.server`` runs without a
double-import warning.
"""

__all__ = ["FAULTS", "make_server", "main", "plan_answer", "start_in_thread"]


def __getattr__(name):
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
