"""`tokenyard`: the admin and chat command line over the gateway's HTTP API (keys, usage, requests,
agents, health, chat). A client of the edge like any other: it never talks to the mesh's gRPC services.
Its entry point is the `tokenyard` console script; there is no `__main__` here on purpose, since the
deploy checks read `services/*/__main__.py` as the list of services to run."""
