"""Programmes, their members and roles."""
