"""Anonymity: a survey's mode and the erasure of anonymous responses' tickets on the host."""
