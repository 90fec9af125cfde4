"""eln-qa-bot: answers questions about the ELN NATO-Russia risk-reduction recommendations."""

__version__ = "0.1.0"
