"""Connect a client to a server: where it can be reached from, and what to paste.

No Textual here; the CLI (``console/cli/connect.py``) and the TUI card
(``console/ui/connect/``) both use these modules:

- ``routes``: the base URLs that reach the server from where the user sits (this
  machine, its addresses, an SSH tunnel, a RunPod pod's proxy or public port);
- ``addresses``: this host's own addresses (for a server bound on every address);
- ``snippets``: curl, Python, ``.env`` and agent JSON that read the API key from a file
  or the environment, never carrying it;
- ``card``: the routes and snippets for one server, as one value (and its JSON);
- ``dotenv``: update an existing ``.env`` in place, only its keys;
- ``check``: run the printed curl snippets with a real ``curl`` and judge the answers;
- ``pod``: a RunPod pod template and a docker compose file for the published image.
"""
