"""What every Tokenyard service needs: config, logging, gRPC scaffolding, Redis, errors."""
