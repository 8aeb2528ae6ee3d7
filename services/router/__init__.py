"""Router service: where a request goes and how it survives."""
