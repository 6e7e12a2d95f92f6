"""Publishing the image: which bases it is built on, and the one build command.

Standard library only: the publish workflow runs ``python3 -m console.publish`` on a
bare runner, and the tests run the same command on the stand-in base.

- ``bases``: the SGLang base images, read from ``docker/Dockerfile``'s ``BASE_IMAGE_<NAME>`` lines;
- ``build``: tags, OCI labels (the settings table as the description) and the ``docker build`` argv.
"""
