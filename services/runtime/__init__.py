"""Runtime service: agents, their encrypted BYOK config, supervised processes, sessions, agent chat, drive."""
