"""Cognito user pool triggers: same zip as the API, own entry points.

They cover users created outside the API (console, CLI, federation), so the rules hold for everyone.
"""
