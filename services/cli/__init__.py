"""`tokenyard`: the admin and chat command line over the gateway's HTTP API (keys, usage, requests,
agents, health, chat). A client of the edge like any other: it never talks to the mesh's gRPC services."""
