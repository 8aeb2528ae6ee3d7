"""Cost-first tier escalation gated on answer quality (issue 9): tiers, validators, gates, review queue, learning."""
