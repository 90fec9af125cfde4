"""The answering core: knowledge, reading, matching, evaluation. Pure Python, no Discord."""
