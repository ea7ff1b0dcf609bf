"""The generic engines pack entries are built into (each a Presidio recognizer class)."""
