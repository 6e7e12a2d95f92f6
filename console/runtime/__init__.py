"""Running SGLang in Docker: launch specs, lifecycle, phases, crash bundles, profiles, VRAM per container.

No Textual here; the Docker SDK and httpx are imported inside functions. Public pieces::

    service.resolve_values(profile=, planner=, cli=, env=) -> Values   # values + source of each + problems
    build.build_spec(values, profile=, image_mode=, allow_public=, extra_env=) -> spec.LaunchSpec
        LaunchSpec.docker_run() / .compose() / .create_kwargs() / .describe()   (no secret in any)
        LaunchSpec.write_secret_files()      # the 0400 copies its read-only secret mounts name
    secret_files.read_back(attrs, name) / known_secrets(attrs) / forget(name)  # a container's secret files
    lifecycle.Runtime()   .launch(spec, on_progress, replace=)  .owned()  .get(target)
                          .stop(c, timeout)  .restart(c)  .remove(c)  .ensure_image(image, on_progress)
    monitor.Monitor(runtime, container_id, base_url=, api_key=, on_update=).run(until_ready=) -> Snapshot
    phases.PhaseTracker / RunPhase           # created → pulling → … → ready / unhealthy / exited
    service.status(runtime) -> [dict]        # phase, time to ready, drift, crash bundle per container
    bundle.write_bundle(...) / crashes_dir()
    profiles.load/save/duplicate/delete/list_profiles (XDG, 0600); profiles.endpoint(name) -> Endpoint
    vram.vram_by_container(samples) / container_names(pids)   # NVML host PIDs → containers
    errors.explain(exc) -> ConsoleError      # Docker's answers in plain words with the fix
"""
