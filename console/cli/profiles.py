"""``profiles``: list, show, duplicate and delete saved launch profiles (save with ``launch --save-profile``)."""

from __future__ import annotations

from console.cli.common import EXIT_OK, add_json_flag, emit
from console.exit_codes import EXIT_USAGE

HELP = "list, show, duplicate or delete launch profiles (saved by launch --save-profile or the Launch screen)"
ORDER = 25


def register(parser) -> None:
    parser.add_argument("action", nargs="?", choices=("list", "show", "duplicate", "delete"), default="list")
    parser.add_argument("name", nargs="?", help="profile name")
    parser.add_argument("new_name", nargs="?", help="duplicate: the copy's name")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.errors import ConsoleError
    from console.runtime import profiles
    from console.settings import scrub_obj

    if args.action == "list":
        names = profiles.list_profiles()
        emit({"profiles": names, "dir": str(profiles.profiles_dir())}, args.json,
             lambda d: "\n".join(d["profiles"]) or f"no profiles in {d['dir']}")
        return EXIT_OK
    if not args.name:
        raise ConsoleError(f"profiles {args.action} needs a profile name", "gpt-oss-console profiles lists them",
                           exit_code=EXIT_USAGE)
    if args.action == "show":
        prof = profiles.load(args.name)
        values = scrub_obj(prof.values)  # a kept secret is shown masked, like everywhere else
        emit({"name": prof.name, "path": str(prof.path), "keep_secrets": prof.keep_secrets, "settings": values},
             args.json, lambda d: "\n".join([f"# {d['path']}"] + [f"{k} = {v}" for k, v in d["settings"].items()]))
    elif args.action == "duplicate":
        if not args.new_name:
            raise ConsoleError("profiles duplicate needs the new name", "profiles duplicate NAME NEW_NAME",
                               exit_code=EXIT_USAGE)
        copy = profiles.duplicate(args.name, args.new_name)
        emit({"name": copy.name, "path": str(copy.path)}, args.json, lambda d: f"copied to {d['path']}")
    else:
        profiles.delete(args.name)
        emit({"deleted": args.name}, args.json, lambda d: f"deleted profile {d['deleted']}")
    return EXIT_OK
