"""gpt-oss-console: plan, launch, watch and test gpt-oss on SGLang.

The package is split into a core (everything except ``console.ui``) that never
imports Textual, and ``console.ui`` which subscribes to it. Keep imports in
``__init__`` modules cheap: start-up time is measured.
"""

__version__ = "0.1.0"
