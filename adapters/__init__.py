"""Host platform adapters: one module per host, behind the contract in ``adapters.base``."""
