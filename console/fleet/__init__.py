"""Several GPU hosts serving gpt-oss behind SGLang's router (data parallel). No Textual here.

Public pieces::

    hosts.load() / parse() -> FleetConfig          # hosts.toml + [fleet] settings; HostsFileError in words
    hosts.select(cfg, ["gpu1", "user@box"])         # --host flags (names, SSH destinations, context:NAME)
    settings.FLEET_SETTINGS                         # the [fleet] keys = the fleet command's flags = the docs
    transport.SshTransport(host).run(cmd, timeout=) / .docker_url(timeout)   # one ssh master per host
    connections.Connections(cfg).runtime(host)      # console.runtime's lifecycle on that host's engine
    remote_gpus.query(transport, timeout=) -> HostGpus   # nvidia-smi (or gpus --json) → the NVML data model
    plan.plan_fleet(model, hosts, cards) -> FleetPlan     # replicas × TP per host from console.planner
    router.RouterClient(url, key)  .workers() .add(url, key) .remove(url) .wait_listed(...)
    router_process.detect() / start_local(cfg, install, key_file) / start_container(...) / stop_local(state)
    ops.up(cfg, conns, state, key, key_file, opts) / ops.drain(..., "gpu1/0") / ops.down(...)   # FleetEvents
    status.collect(cfg, conns, state, key) -> FleetStatus   # every host at once, each with a deadline
    report.*                                        # the same in words for the CLI and the TUI
    logs.worker_batches / router_batches / tail     # any worker's log, the router's
"""
