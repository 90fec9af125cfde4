"""The Discord layer: translates between Discord interactions and the answering core."""
