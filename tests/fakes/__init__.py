"""Fakes of host platforms, reusable by every test folder."""
