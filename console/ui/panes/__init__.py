"""One module per top-level area (tab) of the app.

Each module defines ``TITLE`` (tab label), ``ORDER`` (tab position), ``KEY``
(the digit or letter that jumps to it) and ``PANE`` (a Widget class taking no
required arguments). The app discovers them, so a new area touches one file.
"""
