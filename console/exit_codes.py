"""Exit codes: the same meaning for every command and every core error (a leaf: imports nothing)."""

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and its answer is "no" (a check failed, does not fit)
EXIT_USAGE = 2  # bad arguments or settings: fix the input
EXIT_UNAVAILABLE = 3  # something the command needs is not there (Docker, server, driver)
EXIT_NOT_FOUND = 4  # the thing named does not exist (container, profile)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE), as for `cmd | head`
