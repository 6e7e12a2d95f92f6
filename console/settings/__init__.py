"""Launch settings: one declaration (``spec``) and everything derived from it.

Stdlib only, Python ≥ 3.10 — the SGLang image carries this package.

    from console import settings
    res = settings.resolve(os.environ)            # values + source of each + notes
    problems = settings.validate(res.values, gpus=gpus)
    argv = settings.to_argv(res.values)           # python3 -m sglang.launch_server ...

Sources: ``default`` < ``profile`` < ``env``/``alias`` < ``file`` (``*_FILE``) < ``cli``;
``auto`` marks what the entrypoint/planner filled in.
"""

from .argv import CONFIG_FLAG, LAUNCH, read_sglang_config, secret_flags, sglang_args, sglang_config, to_argv
from .forms import FormField, add_arguments, cli_values, form_field, form_fields, with_file_fields
from .mask import mask_secret, redact_argv, scrub, scrub_lines, scrub_obj
from .resolve import (
    ALIAS, AUTO, CLI, DEFAULT, ENV, FILE, PROFILE, Problem, Resolution, gpt_oss_variant, is_known_model, model_size,
    parse_value, resolve,
)
from .spec import (
    API, BY_ENV, BY_KEY, CONTAINER, ENTRYPOINT, GROUPS, KNOWN_MODELS, MEMORY, MODEL, RUNTIME, SETTINGS,
    SGLANG, TOOLS, Setting, get, in_group,
)
from .validate import check_model, validate

__all__ = [
    "CONFIG_FLAG", "read_sglang_config", "with_file_fields", "secret_flags", "sglang_config",
    "ALIAS", "API", "AUTO", "BY_ENV", "BY_KEY", "CLI", "CONTAINER", "DEFAULT", "ENTRYPOINT", "ENV", "FILE",
    "GROUPS", "KNOWN_MODELS", "LAUNCH", "MEMORY", "MODEL", "PROFILE", "RUNTIME", "SETTINGS", "SGLANG", "TOOLS",
    "FormField", "Problem", "Resolution", "Setting", "add_arguments", "check_model", "cli_values", "form_field",
    "form_fields", "get", "gpt_oss_variant", "in_group", "is_known_model", "mask_secret", "model_size", "parse_value",
    "redact_argv", "resolve", "scrub", "scrub_lines", "scrub_obj", "sglang_args", "to_argv", "validate",
]
